#ifndef WEIGHBRIDGED_BUILD_INFO_H
#define WEIGHBRIDGED_BUILD_INFO_H

/// "VERSION (commit COMMIT)": the release version as Package.swift states it (the one place it
/// is written) and the commit the build was told it comes from ("unknown" when it was not:
/// scripts/package tells it).
const char *weighbridged_version_line(void);

#endif
