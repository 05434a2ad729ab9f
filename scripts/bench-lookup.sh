#!/usr/bin/env bash
# The SCIM lookup path against a minimal baseline (BENCHMARKS.md, issue #22): builds the release
# binary, installs wrk (Debian) when missing, then runs `provisio bench-lookup`, which loads
# 10,000 users and measures `userName eq` lookups on the baseline and on Provisio, alternating.
# Extra arguments go to bench-lookup, e.g. --rounds 5 --seconds 20.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
"$root/scripts/install-tools.sh" build >&2
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS
"$root/scripts/build.sh" --release >&2
exec "$root/target/release/provisio" bench-lookup "$@"
