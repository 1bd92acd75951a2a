#!/usr/bin/env bash
# Builds the browser app in release mode into dist/, without any download at build time, and
# writes brotli and gzip copies beside its files for the relay to serve (quire-precompress).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$QUIRE_ROOT"

# `trunk build --offline` passes --offline to cargo, so every crate must be fetched beforehand.
cargo fetch $(cargo_lock_flag)
trunk build --release --offline
# Compressed once here at the densest settings, so the relay never compresses per request.
cargo run --quiet --release --offline $(cargo_lock_flag) -p quire-precompress -- dist
