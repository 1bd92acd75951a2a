#!/usr/bin/env bash
# Installs what Quire needs, and only what is missing.
#
#   scripts/setup.sh run    tools to build and serve the app: wasm32 target, trunk, wasm-bindgen-cli
#   scripts/setup.sh test   the above, plus Chromium, chromedriver, iproute2, Node and the npm packages
#
# Sources: rustup, crates.io, Debian and npm only. Nothing is downloaded at build time afterwards.
set -euo pipefail
source "$(dirname "$0")/common.sh"

have() { command -v "$1" >/dev/null 2>&1; }

# Runs "$@" and says how long it took, so a slow fresh machine shows where its time went.
timed() {
    local what=$1 start=$SECONDS
    shift
    say "installing $what"
    "$@"
    say "installed $what in $((SECONDS - start)) s"
}

ensure_wasm_target() {
    rustup target list --installed | grep -qx "$WASM_TARGET" && return
    timed "Rust target $WASM_TARGET" rustup target add "$WASM_TARGET"
}

ensure_trunk() {
    [ "$(trunk --version 2>/dev/null)" = "trunk $TRUNK_VERSION" ] && return
    # 0.21.14 is the newest trunk that builds with our stable Rust (0.22 needs a newer rustc).
    timed "trunk $TRUNK_VERSION" cargo install --locked trunk --version "$TRUNK_VERSION"
}

ensure_wasm_bindgen() {
    local version
    version=$(locked_wasm_bindgen_version)
    [ -n "$version" ] || die "no wasm-bindgen in Cargo.lock"
    if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $version" ] &&
        [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" = "wasm-bindgen-test-runner $version" ]; then
        return
    fi
    # --locked first for a reproducible build; without it when the CLI's own lock names a crate
    # version the registry no longer serves.
    install_wbg() {
        cargo install --locked wasm-bindgen-cli --version "$version" ||
            { warn "locked install failed; retrying without --locked"; \
              cargo install --force wasm-bindgen-cli --version "$version"; }
    }
    timed "wasm-bindgen-cli $version" install_wbg
}

apt_install() {
    # `apt-get update` only when the package lists are missing or the install fails on them.
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    fi
}

ensure_browser() {
    local missing=()
    [ -x "$CHROMIUM_BIN" ] || missing+=(chromium)
    [ -x "$CHROMEDRIVER_BIN" ] || missing+=(chromium-driver)
    have ip || missing+=(iproute2)
    have unshare || missing+=(util-linux)
    have node || missing+=(nodejs)
    have npm || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then
        timed "Debian packages: ${missing[*]}" apt_install "${missing[@]}"
    fi
    # @playwright/test 1.65 needs Node 20 or newer (Debian 12's own nodejs is 18).
    local node_major
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$node_major" -ge 20 ] || die "Node $node_major found; the end-to-end tests need Node 20 or newer"
}

# `npm ci` in DIR only when its node_modules was not installed from the current package-lock.json.
# --ignore-scripts: nothing here needs an install script, and some (node-datachannel in the
# interop peer) would download binaries. No browser download either: @playwright/test has no
# install script, and the config points at Debian's Chromium.
ensure_npm_packages() {
    local dir=$1 stamp want
    [ -f "$dir/package-lock.json" ] || return 0
    stamp=$dir/node_modules/.quire-lock.sha256
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return
    timed "npm packages for ${dir#"$QUIRE_ROOT"/}/" \
        npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund
    printf '%s\n' "$want" >"$stamp"
}

main() {
    local purpose=${1:-run}
    have cargo || die "cargo is missing: install Rust with rustup first"
    ensure_wasm_target
    ensure_trunk
    ensure_wasm_bindgen
    case $purpose in
        run) ;;
        test)
            ensure_browser
            ensure_npm_packages "$QUIRE_ROOT/tests"
            # The js-libp2p reference peer of the /webrtc interop specs (tests/interop/).
            ensure_npm_packages "$QUIRE_ROOT/tests/interop"
            ;;
        *) die "usage: $0 run|test" ;;
    esac
}

main "$@"
