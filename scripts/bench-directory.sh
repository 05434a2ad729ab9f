#!/usr/bin/env bash
# The directory benchmark (BENCHMARKS.md): builds the release binary, then runs
# `provisio bench-directory`: a generated CSV of 100,000 users is imported with `provisio import
# users` into a fresh data directory, and the console's directory pages are timed at that size.
# Extra arguments go to bench-directory, e.g. --users 20000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" test >&2
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS
"$root/scripts/build.sh" --release >&2
exec "$root/target/release/provisio" bench-directory "$@"
