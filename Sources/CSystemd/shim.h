// libsystemd (Debian libsystemd-dev): the native journal protocol. sd_journal_send is variadic,
// so Swift calls sd_journal_sendv with an iovec array instead; no wrapper is needed.
#include <systemd/sd-journal.h>
