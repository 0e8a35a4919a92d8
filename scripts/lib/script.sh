# Sourced first by every script in scripts/ and .ci/: strict mode, and a trap that says which step
# failed, the command, where, and what to do, so that no script ever stops without a word.
#
#   step "building the daemon" ["what to try if this fails"]
#
# names what the script is doing from then on; a failing command then prints, for example,
#   scripts/demo: FAILED while building the daemon: `swift build --product weighbridged` exited 1
#     (scripts/demo line 24)
#     what to do: read the compiler's errors above
set -Eeuo pipefail

WEIGHBRIDGED_SCRIPT=${0#./}
WEIGHBRIDGED_STEP="starting"
WEIGHBRIDGED_HINT=""

step() {
    WEIGHBRIDGED_STEP=$1
    WEIGHBRIDGED_HINT=${2:-}
}

report_failure() {
    local status=$1 command=$2 file=$3 line=$4
    echo "$WEIGHBRIDGED_SCRIPT: FAILED while $WEIGHBRIDGED_STEP: \`$command\` exited $status" >&2
    echo "  ($file line $line)" >&2
    [ -z "$WEIGHBRIDGED_HINT" ] || echo "  what to do: $WEIGHBRIDGED_HINT" >&2
}

# A command substitution or pipeline stage that fails reports from its subshell too (with the
# exact command inside it), then once more from the line that used it.
trap 'report_failure "$?" "$BASH_COMMAND" "${BASH_SOURCE[0]}" "$LINENO"' ERR
