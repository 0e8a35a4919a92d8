// libmodbus (Debian libmodbus-dev); pkg-config adds -I/usr/include/modbus. Everything it declares
// imports into Swift as is: no static-inline wrappers are needed.
#include <modbus.h>
