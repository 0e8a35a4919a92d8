// The system SQLite (Debian libsqlite3-dev). Swift cannot import SQLITE_TRANSIENT (a cast macro),
// so the Swift side builds that destructor value itself; nothing else needs a shim.
#include <sqlite3.h>
