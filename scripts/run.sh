#!/usr/bin/env bash
# `make run`: install what is missing, build the app and the relay, serve the app.
#
# The relay listens on 127.0.0.1:8080 unless told otherwise: every relay flag is also an
# environment variable (QUIRE_LISTEN=0.0.0.0:9000, QUIRE_DATA_DIR=..., see `quire-relay --help`),
# and extra flags can be passed as arguments (`make run ARGS="--log-level debug"`).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$QUIRE_ROOT"

bash "$QUIRE_ROOT/scripts/setup.sh" run
bash "$QUIRE_ROOT/scripts/build-app.sh"
say "building the relay"
cargo build --release --offline $(cargo_lock_flag) -p quire-relay

# The relay prints "Quire is running at http://<host>:<port>/" once it listens.
say "starting the relay (Ctrl-C stops it)"
exec "$(target_dir)/release/quire-relay" --dist "$QUIRE_ROOT/dist" "$@"
