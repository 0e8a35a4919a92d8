#include "build_info.h"

// Both macros are defined by Package.swift: its version constant, the environment's
// WEIGHBRIDGED_COMMIT.
const char *weighbridged_version_line(void) { return WEIGHBRIDGED_VERSION " (commit " WEIGHBRIDGED_COMMIT ")"; }
