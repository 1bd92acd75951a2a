#!/usr/bin/env bash
# Builds the browser app in release mode into dist/, without any download at build time.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$QUIRE_ROOT"

# `trunk build --offline` passes --offline to cargo, so every crate must be fetched beforehand.
cargo fetch $(cargo_lock_flag)
trunk build --release --offline
