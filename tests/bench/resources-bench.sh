#!/usr/bin/env bash
# Rerunnable shared-files benchmark in the real app: publish time, a download from one holder
# against a raw RTCDataChannel of the same size between the same pages, two holders against
# one, and the downloader's memory growth.
#   tests/bench/resources-bench.sh          # builds the app and relay, runs in the netns
# Env: SIZE_MIB (64), HOLDER_THROTTLE (1: the holders' CPU slowdown during transfers),
# QUIRE_BENCH_OUT (JSON result path).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/scripts/build-app.sh"
cargo build --manifest-path "$root/Cargo.toml" -p quire-relay
mkdir -p "$root/tests/test-results/bench"
cd "$root/tests"
exec bash "$root/scripts/netns.sh" npx --no-install playwright test --config bench/resources.config.ts
