#!/usr/bin/env bash
# Relay load benchmark: N concurrent WebSocket libp2p clients registering presence against a
# quire-relay process on loopback. Prints relay RSS per idle connection and registration
# latency p50/p99. Usage: relay/bench/load.sh [--clients 2000] [--register-window-secs 10] ...
# QUIRE_BENCH_PROFILE=test reuses the test profile's optimised dependencies (quicker to build
# when `cargo test` has just run); the default is release.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Every client holds a socket in this process and in the relay: raise the fd limit for both.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

profile="${QUIRE_BENCH_PROFILE:-release}"
# Release code without the workspace's LTO (LTO only shrinks the binary; it would add many
# minutes of linking on 2 cores).
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
cargo build --profile "$profile" -p quire-relay --bin quire-relay --example load
case "$profile" in release) out=release ;; dev | test) out=debug ;; *) out="$profile" ;; esac
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/$out/examples/load" --relay-bin "$target_dir/$out/quire-relay" "$@"
