#!/usr/bin/env bash
# `make test`: every check and test layer of Quire, then a per-layer summary.
#
# Layers run in order and keep going after a failure, so one run shows everything that is
# wrong; layers that need an earlier one's output (the end-to-end suite needs dist/ and the
# relay) are reported as failed when it failed. The script exits non-zero when any layer fails
# or when a test layer ran no test at all (a silently empty layer is a broken layer).
#
# Logs: target/test-logs/<layer>.log. Environment: CI=true makes cargo refuse to touch
# Cargo.lock; E2E_ARGS passes extra arguments to `playwright test` (e.g. a spec file).
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$QUIRE_ROOT"

LOG_DIR=$(target_dir)/test-logs
mkdir -p "$LOG_DIR"
LOCK=$(cargo_lock_flag)
# A wasm test file (one browser session) may run this long; transport tests take a while.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
export CHROMEDRIVER=$CHROMEDRIVER_BIN

names=() results=() counts=() times=()
declare -A passed=()

# run_layer NAME KIND COMMAND...
#   KIND is `check` (pass/fail only), `cargo` (counts libtest / wasm-bindgen-test results) or
#   `playwright` (counts the JSON report).
run_layer() {
    local name=$1 kind=$2 log=$LOG_DIR/$1.log start=$SECONDS status count=-
    shift 2
    say "[$name] $*"
    "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    case $kind in
        cargo) count=$(count_cargo_tests "$log") ;;
        playwright) count=$(count_playwright_tests "$LOG_DIR/e2e-report.json") ;;
    esac
    record "$name" "$status" "$count" "$((SECONDS - start))"
}

record() {
    local name=$1 status=$2 count=$3 secs=$4 result=ok
    if [ "$status" -ne 0 ]; then
        result=FAILED
    elif [ "$count" = 0 ]; then
        result="FAILED (no tests ran)"
    fi
    [ "$result" = ok ] && passed[$name]=1
    names+=("$name") results+=("$result") counts+=("$count") times+=("${secs}s")
}

skip_layer() {
    record "$1" 1 - 0
    results[${#results[@]}-1]="FAILED (skipped: $2 failed)"
}

# Sums "N passed; M failed" over every `test result:` line (libtest and wasm-bindgen-test both
# print one per test binary).
count_cargo_tests() {
    grep -aE '^test result: ' "$1" |
        sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
        awk '{ n += $1 + $2 } END { print n + 0 }'
}

count_playwright_tests() {
    [ -f "$1" ] || { echo 0; return; }
    node -e '
        const s = require(process.argv[1]).stats;
        console.log(s.expected + s.unexpected + s.flaky);
    ' "$1" 2>/dev/null || echo 0
}

# Debug info off for the wasm32 test builds: the runner never reads DWARF (panic messages come
# from console_error_panic_hook), and without it the test modules shrink from ~90 MB to ~4 MB,
# which makes both the build and wasm-bindgen's pass over every test binary much faster.
export_wasm_test_profile() { export CARGO_PROFILE_DEV_DEBUG=0; }

wasm_tests() {
    export_wasm_test_profile
    # Inside the namespace too: the app's transport tests open WebRTC connections.
    bash scripts/netns.sh cargo test --offline $LOCK -p quire-app --target "$WASM_TARGET" --tests
}

# The pages of the /webrtc interop specs (Quire's node and the js-libp2p peer), when present.
# A dev build with the wasm test profile: it reuses much of what the wasm-test layer compiled.
interop_pages() {
    export_wasm_test_profile
    bash tests/interop/build.sh --dev
}

e2e_tests() {
    rm -f "$LOG_DIR/e2e-report.json"
    (cd tests && QUIRE_E2E_REPORT="$LOG_DIR/e2e-report.json" \
        bash ../scripts/netns.sh npx --no-install playwright test ${E2E_ARGS:-})
}

print_summary() {
    local i failed=0
    printf '\n%-16s %-32s %7s %8s\n' layer result tests time
    printf '%-16s %-32s %7s %8s\n' ---------------- -------------------------------- ------- --------
    for i in "${!names[@]}"; do
        printf '%-16s %-32s %7s %8s\n' "${names[$i]}" "${results[$i]}" "${counts[$i]}" "${times[$i]}"
        [ "${results[$i]}" = ok ] || failed=1
    done
    printf '\ntotal wall time: %d s\n' "$SECONDS"
    return $failed
}

main() {
    SECONDS=0
    run_layer setup check bash scripts/setup.sh test
    if [ -z "${passed[setup]:-}" ]; then print_summary; exit 1; fi
    run_layer fetch check cargo fetch $LOCK

    run_layer fmt check cargo fmt --all -- --check
    # The app also builds natively: its model, storage-error and framing rules are plain Rust
    # with native tests (its browser code is cfg'd to wasm32).
    run_layer clippy-native check \
        cargo clippy $LOCK --workspace --all-targets -- -D warnings
    # The app ships to the browser; quire-core must also build there (the app embeds it).
    run_layer clippy-wasm check bash -c "
        cargo clippy $LOCK --target $WASM_TARGET -p quire-core --lib -- -D warnings &&
        cargo clippy $LOCK --target $WASM_TARGET -p quire-app --lib --bins --tests -- -D warnings"

    run_layer cargo-test cargo cargo test $LOCK --workspace
    # Every benchmark once, in criterion's test mode (no timing): a bench that panics or no
    # longer measures what it says fails here instead of going unnoticed until someone runs it.
    run_layer bench-smoke check cargo test $LOCK --workspace --benches
    run_layer wasm-test cargo wasm_tests

    run_layer build-app check bash scripts/build-app.sh
    run_layer build-relay check cargo build $LOCK -p quire-relay
    local pages=ok
    if [ -f tests/interop/build.sh ]; then
        run_layer build-interop check interop_pages
        [ -n "${passed[build-interop]:-}" ] || pages=
    fi
    if [ -n "${passed[build-app]:-}" ] && [ -n "${passed[build-relay]:-}" ] && [ -n "$pages" ]; then
        run_layer e2e playwright e2e_tests
    else
        skip_layer e2e "a build"
    fi

    print_summary
}

main "$@"
