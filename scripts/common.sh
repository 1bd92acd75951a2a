# Shared helpers for Quire's scripts. Source it; it does nothing on its own.
# shellcheck shell=bash

QUIRE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export QUIRE_ROOT

# Tools installed with `cargo install` land here; put them first so an exact-version trunk or
# wasm-bindgen wins over anything else on PATH.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Trunk's update check is a network call; the build must not need the network.
export TRUNK_SKIP_VERSION_CHECK=true

WASM_TARGET=wasm32-unknown-unknown
TRUNK_VERSION=0.21.14
CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
CHROMEDRIVER_BIN=${CHROMEDRIVER:-/usr/bin/chromedriver}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The cargo target directory, honouring CARGO_TARGET_DIR like cargo does.
target_dir() {
    local dir=${CARGO_TARGET_DIR:-$QUIRE_ROOT/target}
    case $dir in /*) ;; *) dir=$QUIRE_ROOT/$dir ;; esac
    printf '%s\n' "$dir"
}

# On CI the committed Cargo.lock is the truth: refuse to change it. Locally, let cargo update it
# when someone has just added a dependency.
cargo_lock_flag() {
    if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then printf -- '--locked\n'; fi
}

# The wasm-bindgen version pinned in Cargo.lock; the CLI, Trunk and the test runner must match it.
locked_wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
        "$QUIRE_ROOT/Cargo.lock"
}
