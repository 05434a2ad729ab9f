#!/usr/bin/env bash
# Times the README's first command as a new user meets it: a fresh clone of this repository's HEAD,
# an empty HOME and CARGO_HOME (no registry cache, no wasm-bindgen, no npm cache), no target/ and
# no tools/node_modules. Prints the time from `scripts/serve.sh` to the console answering, then
# the time of a second run with nothing changed. Takes about 16 minutes on 2 cores and some 2.7 GB
# of disk under the work directory (removed at the end unless --keep).
#
# Usage: scripts/bench-first-run.sh [--remove-wasm-target] [--keep]
#   --remove-wasm-target  also remove the wasm32 target from the toolchain first, as on a machine
#                         that never had it (it is added back by the run itself)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
remove_target=false keep=false
for a in "$@"; do
  case $a in
    --remove-wasm-target) remove_target=true ;;
    --keep) keep=true ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d /tmp/provisio-first-run.XXXXXX)
$keep || trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/provisio"
mkdir -p "$work/home/.cargo/bin"
# The rustup proxies under an empty CARGO_HOME: the toolchain is the machine's, nothing else is.
for t in cargo rustc rustup rustdoc; do ln -s "$(command -v rustup)" "$work/home/.cargo/bin/$t"; done
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$work/home CARGO_HOME=$work/home/.cargo
export PATH=$work/home/.cargo/bin:/usr/local/bin:/usr/bin:/bin
if $remove_target; then rustup target remove wasm32-unknown-unknown >/dev/null 2>&1 || true; fi
port=$((20000 + RANDOM % 20000))

# serve.sh in the background until /readyz answers; prints the seconds it took.
timed_serve() {
  local log=$1 start pid
  start=$(date +%s.%N)
  (cd "$work/provisio" && PROVISIO_DATA_DIR=$work/data exec scripts/serve.sh --bind "127.0.0.1:$port") >"$log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -30 "$log" >&2; echo "serve.sh ended before the console answered" >&2; exit 1; }
    sleep 0.05
  done
  awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }'
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  if grep -q "panicked at" "$log"; then tail -30 "$log" >&2; echo "the server panicked" >&2; exit 1; fi
}

echo "commit $(git -C "$root" rev-parse --short HEAD), $(date -u '+%F %H:%M') UTC, $(nproc) cores"
first=$(timed_serve "$work/first.log")
grep -E "Finished|Installed package" "$work/first.log" | sed 's/^ */  /'
printf 'first run, clone to console: %.0f s\n' "$first"
second=$(timed_serve "$work/second.log")
printf 'second run, nothing changed: %.2f s\n' "$second"
