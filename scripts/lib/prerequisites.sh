# Installs the Debian and Python packages the project needs, only when something is missing, so
# that scripts/test and scripts/demo work on a fresh Debian 12 machine with Swift installed.
# Sourced by the scripts; works as root, and through sudo otherwise.

# The Debian packages every build and test needs: libmodbus for every Modbus byte, SQLite for the
# store, libsystemd for the journal and notify protocols, socat for serial pty pairs in tests,
# systemd for systemd-analyze and a standalone journald in tests, util-linux for runuser, openssl
# for the self-signed certificate of the TLS test, curl for the demo's calls to the sandbox.
WEIGHBRIDGED_APT_PACKAGES=(pkg-config libmodbus-dev libsqlite3-dev sqlite3 libsystemd-dev socat systemd util-linux openssl curl)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_apt_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "installing Debian packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_pip_packages NAME==VERSION ...: installs into the interpreter that runs the tests.
ensure_pip_packages() {
    local missing=()
    local requirement
    for requirement in "$@"; do
        local name=${requirement%%[=<>]*} wanted=${requirement#*==}
        local installed
        installed=$(python3 -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
        [ -n "$installed" ] && { [ "$wanted" = "$requirement" ] || [ "$installed" = "$wanted" ]; } || missing+=("$requirement")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "installing Python packages: ${missing[*]}" >&2
    # Debian 12 marks its Python "externally managed" (PEP 668); these test-only packages are
    # pinned and few, so they go in beside it rather than into a virtual environment.
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}"
}

# The Python packages the tests need: pymodbus as an independent Modbus peer (interop tests),
# PyYAML and jsonschema to check our Defra bodies against Defra's published OpenAPI schema.
WEIGHBRIDGED_PIP_PACKAGES=(pymodbus==3.16.1 pyserial==3.5 PyYAML==6.0.3 jsonschema==4.26.0)

ensure_prerequisites() {
    command -v swift >/dev/null || { echo "swift is not on PATH; install the Swift toolchain first" >&2; exit 1; }
    ensure_apt_packages "${WEIGHBRIDGED_APT_PACKAGES[@]}" python3 python3-pip
    ensure_pip_packages "${WEIGHBRIDGED_PIP_PACKAGES[@]}"
}
