#!/usr/bin/env bash
# Builds the pages the interop suite and the /webrtc benchmark load, into tests/interop/dist/:
#   quire-peer.html + quire-peer/ : Quire's browser node (app/src/net) as a wasm module
#   js-peer.html + js-peer.js     : a js-libp2p node with @libp2p/webrtc (bundled offline)
# Usage: tests/interop/build.sh [--dev]   (release by default: the benchmark measures it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
profile=release
[[ "${1:-}" == "--dev" ]] && profile=dev
target_dir="${CARGO_TARGET_DIR:-$here/../../target}"
out="$here/dist"
mkdir -p "$out"

# quire-peer is its own workspace, so name the target dir: the wasm is read from there below.
cargo build --manifest-path "$here/quire-peer/Cargo.toml" --target wasm32-unknown-unknown \
  --target-dir "$target_dir" \
  $([[ $profile == release ]] && echo --release)
dir=$([[ $profile == release ]] && echo release || echo debug)
wasm-bindgen --target web --no-typescript --out-dir "$out/quire-peer" \
  "$target_dir/wasm32-unknown-unknown/$dir/quire_peer.wasm"
cp "$here"/pages/*.html "$out/"

if [[ -d "$here/node_modules" ]]; then
  (cd "$here" && npx esbuild js-peer/peer.js --bundle --format=esm --platform=browser \
    --target=es2022 --outfile="$out/js-peer.js" --log-level=warning)
else
  echo "tests/interop/node_modules missing: run 'npm install --ignore-scripts' in tests/interop" >&2
fi
