#!/usr/bin/env bash
# Deployment figures (BENCHMARKS.md): the release build (time), a second build with nothing
# changed (time), the binary's size, the time from start to ready of the binary copied alone into
# an empty directory, and the sign-in page's first load as a browser accepting brotli transfers
# it (HTML, style sheet, JS, wasm).
#
# Usage: scripts/bench-deploy.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" build >&2
t0=$(date +%s.%N)
"$root/scripts/build.sh" --release >&2
t1=$(date +%s.%N)
"$root/scripts/build.sh" --release >&2
t2=$(date +%s.%N)
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "release build: $(since "$t0" "$t1") s; again with nothing changed: $(since "$t1" "$t2") s"
printf 'binary: %s bytes (%s)\n' "$(stat -c %s target/release/provisio)" "$(du -h target/release/provisio | cut -f1)"

work=$(mktemp -d)
pid=""
trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cp target/release/provisio "$work/provisio"
mkdir "$work/cwd"
start=$(date +%s.%N)
. "$root/scripts/lib/start-provisio.sh"
PROVISIO_DATA_DIR="$work/data" PROVISIO_ADMIN_PASSWORD="bench admin password" \
  start_provisio "$work/provisio" "$work/cwd" "$work/log"
pid=$started_pid url=$started_url
echo "start to ready, empty data directory: $(since "$start" "$(date +%s.%N)") s"

total=0
fetch() {
  local bytes
  bytes=$(curl -s -o /dev/null -H 'Accept-Encoding: br, gzip' -w '%{size_download}' "$url$1")
  printf '  %-45s %8s bytes\n' "$1" "$bytes"
  total=$((total + bytes))
}
echo "first load of /login (as transferred, Accept-Encoding: br, gzip):"
html=$(curl -s "$url/login")
fetch /login
for path in $(grep -o 'href="/pkg/[^"]*"' <<<"$html" | cut -d'"' -f2 | sort -u); do
  fetch "$path"
done
printf '  %-45s %8s bytes\n' "total" "$total"
