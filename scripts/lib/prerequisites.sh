# Installs what the scripts need, only when something is missing, so that scripts/demo and
# scripts/test work on a fresh Debian 12 machine with Swift installed: Debian packages with apt,
# and the Python test tools into the project's own virtual environment, .venv/ (never the system
# interpreter). Sourced by the scripts after scripts/lib/script.sh, from the repository's root;
# works as root, and through sudo otherwise.

# The Debian packages every build and test needs: libmodbus for every Modbus byte, SQLite for the
# store, libsystemd for the journal and notify protocols, socat for serial pty pairs in tests,
# systemd for systemd-analyze and a standalone journald in tests, util-linux for runuser and loop
# mounts, e2fsprogs for the ext4 file systems the crash tests put the store on, openssl for the
# self-signed certificate of the TLS test, curl for the demo's calls to the sandbox, python3 and
# python3-venv for the test tools' virtual environment.
WEIGHBRIDGED_APT_PACKAGES=(pkg-config libmodbus-dev libsqlite3-dev sqlite3 libsystemd-dev socat systemd util-linux
    e2fsprogs openssl curl python3 python3-venv)

# The interpreter of the project's virtual environment: every Python harness runs with it (the
# Swift tests find it at the same path).
WEIGHBRIDGED_PYTHON=$PWD/.venv/bin/python3

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
    step "installing Debian packages (${missing[*]})" \
        "check that apt can reach Debian's mirrors (apt-get update), or install them by hand and rerun"
    echo "installing Debian packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Makes .venv/ from scripts/requirements.txt with Debian's python3, unless it already holds exactly
# those requirements (a copy of the file is written into it last, so an interrupted install is
# redone from nothing).
ensure_python_environment() {
    local requirements=scripts/requirements.txt installed=.venv/requirements.txt
    if [ -x "$WEIGHBRIDGED_PYTHON" ] && cmp -s "$requirements" "$installed" && "$WEIGHBRIDGED_PYTHON" -c ''; then
        return 0
    fi
    step "creating the Python test environment .venv/ from $requirements" \
        "check that PyPI can be reached, then rerun; 'rm -rf .venv' starts it again from nothing"
    echo "creating .venv/ (Python test tools from $requirements)" >&2
    rm -rf .venv
    /usr/bin/python3 -m venv .venv
    "$WEIGHBRIDGED_PYTHON" -m pip install --quiet --disable-pip-version-check --no-input --requirement "$requirements"
    "$WEIGHBRIDGED_PYTHON" -m pip check
    cp "$requirements" "$installed"
}

ensure_prerequisites() {
    step "checking for the Swift toolchain" "install Swift (swift.org) and put it on PATH"
    command -v swift >/dev/null
    ensure_apt_packages "${WEIGHBRIDGED_APT_PACKAGES[@]}"
    ensure_python_environment
}
