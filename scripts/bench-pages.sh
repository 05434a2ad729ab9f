#!/usr/bin/env bash
# The console's first-load benchmark (BENCHMARKS.md "Console pages"): page weight and Lighthouse.
#
#   scripts/bench-pages.sh [--no-build] [--runs N]
#
# Builds the release binary (unless --no-build), starts it on a fresh data directory with a demo
# directory (200 users) and one application, signs in, then for the sign-in, users and
# provisioning pages prints:
#   - what the first load transfers with Accept-Encoding: br, gzip (the HTML and every asset it
#     loads: style sheet, JS glue, wasm) and the raw sizes;
#   - Lighthouse's mobile performance and accessibility scores, largest contentful paint, total
#     blocking time and total byte weight, with Debian's Chromium, N runs each (default 3),
#     reported as a range.
# Lighthouse (npm) is installed on first use into tools/bench/ (not needed by the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=1
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --runs) runs=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "Debian's chromium is needed (apt-get install chromium)" >&2; exit 1; }
if [ $build = 1 ]; then
  "$root/scripts/install-tools.sh" test >&2
  "$root/scripts/build.sh" --release >&2
fi
bench="$root/tools/bench"
if [ ! -x "$bench/node_modules/.bin/lighthouse" ]; then
  mkdir -p "$bench"
  (cd "$bench" && npm install --no-audit --no-fund --silent lighthouse@12 >&2)
fi

work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export PROVISIO_DATA_DIR="$work/data"
password="bench admin password"
bin="$root/target/release/provisio"
"$bin" demo-data --users 200 >/dev/null 2>&1
app=$("$bin" app create --template harness --name "Harness" | tail -1)
. "$root/scripts/lib/start-provisio.sh"
PROVISIO_ADMIN_PASSWORD="$password" start_provisio "$bin" "$work" "$work/server.log"
pid=$started_pid
url=$started_url

# A signed-in session (the console's pages need one).
jar="$work/cookies"
curl -s -c "$jar" -b "$jar" "$url/login" >/dev/null
csrf=$(curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' -X POST "$url/api/login_context" |
  sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
curl -fsS -c "$jar" -b "$jar" -H 'Accept: application/json' \
  --data-urlencode "username=admin" --data-urlencode "password=$password" --data-urlencode "csrf=$csrf" \
  "$url/api/login" >/dev/null
cookie=$(awk '$0 !~ /^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 } $0 ~ /^#HttpOnly_/ { printf "%s=%s; ", $6, $7 }' "$jar" | sed 's/; $//')

pages=("/login" "/directory/users" "/apps/$app/provisioning")
printf '%-28s %12s %12s   %s\n' "page" "transferred" "raw" "(HTML + CSS + JS + wasm)"
for p in "${pages[@]}"; do
  h=(-H "Accept-Encoding: br, gzip")
  [ "$p" != /login ] && h+=(-H "Cookie: $cookie")
  html_z=$(curl -s -o /dev/null -w '%{size_download}' "${h[@]}" "$url$p")
  html=$(curl -s "${h[@]:2}" --compressed "$url$p" | tee "$work/page.html" | wc -c)
  total_z=$html_z
  total=$html
  for asset in $(grep -oE '/pkg/[A-Za-z0-9_./-]+\.(css|js|wasm)' "$work/page.html" | sort -u); do
    total_z=$((total_z + $(curl -s -o /dev/null -w '%{size_download}' -H "Accept-Encoding: br, gzip" "$url$asset")))
    total=$((total + $(curl -s "$url$asset" | wc -c)))
  done
  printf '%-28s %12s %12s\n' "${p/$app/APP}" "$total_z" "$total"
done

echo
echo "Lighthouse (mobile, simulated throttling), $runs runs per page: min-max"
printf '%-28s %12s %14s %14s %12s %14s\n' "page" "performance" "accessibility" "LCP ms" "TBT ms" "bytes"
for p in "${pages[@]}"; do
  perf=() a11y=() lcp=() tbt=() bytes=()
  for _ in $(seq "$runs"); do
    extra=()
    [ "$p" != /login ] && extra=(--extra-headers "{\"Cookie\": \"$cookie\"}")
    "$bench/node_modules/.bin/lighthouse" "$url$p" --quiet --output=json --output-path="$work/lh.json" \
      --only-categories=performance,accessibility --chrome-path="$chromium" \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu" "${extra[@]}" >/dev/null 2>&1 || true
    read -r a b c d e < <(node -e '
      const r = require(process.argv[1]);
      const s = (k) => Math.round((r.categories[k]?.score ?? 0) * 100);
      const n = (k) => Math.round(r.audits[k]?.numericValue ?? 0);
      console.log(s("performance"), s("accessibility"), n("largest-contentful-paint"), n("total-blocking-time"), n("total-byte-weight"));
    ' "$work/lh.json")
    perf+=("$a") a11y+=("$b") lcp+=("$c") tbt+=("$d") bytes+=("$e")
  done
  range() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/^\([0-9]*\)-\1$/\1/'; }
  printf '%-28s %12s %14s %14s %12s %14s\n' "${p/$app/APP}" "$(range "${perf[@]}")" "$(range "${a11y[@]}")" \
    "$(range "${lcp[@]}")" "$(range "${tbt[@]}")" "$(range "${bytes[@]}")"
done
