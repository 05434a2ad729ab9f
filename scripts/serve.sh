#!/usr/bin/env bash
# Builds Provisio (release) and serves it on the embedded SQLite database under ./data.
# Installs the build tools it needs first (idempotent). Extra arguments go to `provisio serve`,
# e.g. scripts/serve.sh --bind 0.0.0.0:3000 --public-url https://idm.example.com
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" build
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
echo "[serve] building the release binary and browser assets (the first build takes several minutes)" >&2
"$root/scripts/build.sh" --release
export PROVISIO_DATA_DIR="${PROVISIO_DATA_DIR:-$root/data}"
echo "[serve] data directory: $PROVISIO_DATA_DIR" >&2
exec "$root/target/release/provisio" serve "$@"
