#!/usr/bin/env bash
# The SCIM endpoint benchmark (BENCHMARKS.md): builds the release binary, then runs
# `provisio bench-scim` against a fresh Provisio and scim2-server from ../shared/peers, loading
# the same users and groups into both. Extra arguments go to bench-scim, e.g. --users 20000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" test >&2
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS
"$root/scripts/build.sh" --release >&2
exec "$root/target/release/provisio" bench-scim --scim2-server "$root/target/peers-venv/bin/scim2-server" "$@"
