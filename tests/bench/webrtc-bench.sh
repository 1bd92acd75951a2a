#!/usr/bin/env bash
# Rerunnable /webrtc benchmark: Quire's libp2p /webrtc stream vs a raw RTCDataChannel between the
# same two headless Chromium contexts (RTT p50/p99 of 32-byte echoes, bulk throughput).
#   tests/bench/webrtc-bench.sh            # builds the release test pages, runs in the netns
# Env: RTT_COUNT (500), BULK_BYTES (33554432), ROUNDS (3), QUIRE_BENCH_OUT (JSON result path),
#      CARGO_TARGET_DIR (where quire-relay and the test pages are built).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/tests/interop/build.sh"
cargo build --manifest-path "$root/Cargo.toml" -p quire-relay
mkdir -p "$root/tests/test-results/bench"
cd "$root/tests"
exec bash "$root/scripts/netns.sh" npx --no-install playwright test --config bench/webrtc.config.ts
