#!/usr/bin/env bash
# Peak memory of the server under the attacks of the hardening issue (BENCHMARKS.md), each on a
# fresh server: 300 concurrent failed sign-ins from 300 addresses, a Viewer's expression bombs
# (16 at once), and 16 parallel SCIM filters the index cannot answer over N users.
# Prints the server's VmHWM (peak resident memory) before and after each, and whether it still
# answers. Traffic goes to 127.0.0.1 only.
#
# Usage: scripts/bench-hardening.sh [--bin PATH] [--users N] [--bomb-depth D] [--bombs N]
#   --bin         the provisio binary (default: target/release/provisio, else target/debug/provisio)
#   --users       SCIM users loaded for the filter phase (default 100000)
#   --bomb-depth  how deep ConvertToBase64 is nested (default 24)
#   --bombs       how many expression tests run at once (default 16)
# A build without the expression budget asks for gigabytes per bomb: measure one with --bombs 1
# --bomb-depth 20 (4.7 GiB), never sixteen.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=""
users=100000
depth=24
bombs=16
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --bomb-depth) depth=$2; shift 2 ;;
    --bombs) bombs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$bin" ]; then
  bin="$root/target/release/provisio"
  [ -x "$bin" ] || bin="$root/target/debug/provisio"
fi
[ -x "$bin" ] || { echo "no provisio binary at $bin (cargo build --release --features ssr)" >&2; exit 2; }
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
password="bench admin password"

start() { # start DIR [ENV=VALUE ...]: sets pid and url
  local dir=$1; shift
  env "$@" PROVISIO_DATA_DIR="$dir" PROVISIO_ADMIN_PASSWORD="$password" PROVISIO_LOG=warn,provisio=info \
    PROVISIO_TRUST_FORWARDED_FOR=true "$bin" serve --bind 127.0.0.1:0 >"$dir.log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 200); do
    url=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$dir.log" | head -1)
    [ -n "$url" ] && curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$dir.log" >&2
  exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
hwm() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$pid/status"; }
alive() { curl -fsS -o /dev/null "$url/healthz" && echo yes || echo NO; }
# session JAR: a cookie jar with a session and prints its CSRF token
session() {
  curl -fsS -c "$1" -b "$1" -o /dev/null "$url/login"
  curl -fsS -c "$1" -b "$1" -X POST -H 'accept: application/json' "$url/api/login_context" |
    sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p'
}
sign_in() { # sign_in JAR USER PASSWORD: prints the CSRF token of the signed-in session
  local token
  token=$(session "$1")
  curl -fsS -c "$1" -b "$1" -o /dev/null -X POST -H 'accept: application/json' \
    --data-urlencode "csrf=$token" --data-urlencode "username=$2" --data-urlencode "password=$3" "$url/api/login"
  curl -fsS -c "$1" -b "$1" -X POST -H 'accept: application/json' "$url/api/session" |
    sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p'
}
report() { printf '%-52s before %5s MiB   peak %5s MiB   still answers: %s\n' "$1" "$2" "$(hwm)" "$(alive)"; }

echo "binary: $bin ($(date -u +%Y-%m-%dT%H:%MZ))"

# 1. 300 concurrent failed sign-ins from 300 addresses.
start "$work/signin"
for i in $(seq 1 300); do session "$work/jar$i" >"$work/token$i"; done
before=$(hwm)
for i in $(seq 1 300); do
  curl -s -o /dev/null -b "$work/jar$i" -X POST -H 'accept: application/json' \
    -H "x-forwarded-for: 10.2.$((i / 200)).$((i % 200))" \
    --data-urlencode "csrf=$(cat "$work/token$i")" --data-urlencode "username=name$i" \
    --data-urlencode "password=wrong password" "$url/api/login" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
report "300 concurrent failed sign-ins" "$before"
stop

# 2. Expression bombs from a Viewer's tester, 16 at once.
start "$work/expr"
printf 'viewer long password\n' | PROVISIO_DATA_DIR="$work/expr" "$bin" admin create vera --role viewer --password-stdin >/dev/null 2>&1
printf 'userPrincipalName,displayName,givenName\nzoe@contoso.com,Zoe,Zoe\n' |
  PROVISIO_DATA_DIR="$work/expr" "$bin" import users - --format csv >/dev/null 2>&1
app=$(PROVISIO_DATA_DIR="$work/expr" "$bin" app create --template harness --name Bomb 2>/dev/null)
upn=zoe@contoso.com
token=$(sign_in "$work/v" vera "viewer long password")
bomb="[givenName]"
for _ in $(seq 1 "$depth"); do bomb="ConvertToBase64($bomb)"; done
before=$(hwm)
for _ in $(seq 1 "$bombs"); do
  curl -s -o /dev/null -b "$work/v" -X POST -H 'accept: application/json' \
    --data-urlencode "csrf=$token" --data-urlencode "app=$app" --data-urlencode "object=user" \
    --data-urlencode "intent=test" --data-urlencode "kind=expression" --data-urlencode "target=title" \
    --data-urlencode "expression=$bomb" --data-urlencode "test_user=$upn" "$url/api/provisioning/attribute" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
report "$bombs x ConvertToBase64 nested $depth deep (Viewer)" "$before"
stop

# 3. 16 parallel SCIM filters the index cannot answer, over $users users.
start "$work/scim"
out=$(PROVISIO_DATA_DIR="$work/scim" "$bin" account create --name Bench 2>/dev/null)
account=$(printf '%s\n' "$out" | grep -o 'account/[A-Za-z0-9_-]*' | head -1 | cut -d/ -f2)
key=$(PROVISIO_DATA_DIR="$work/scim" "$bin" api-key create --account "$account" --name bench --group "Account Administrators" 2>/dev/null)
tenant="$url/gateway/api/scim/account/$account"
batches=$(( (users + 99) / 100 ))
for b in $(seq 0 $((batches - 1))); do
  ops=""
  for i in $(seq 0 99); do
    n=$((b * 100 + i))
    [ "$n" -ge "$users" ] && break
    ops="$ops${ops:+,}{\"method\":\"POST\",\"path\":\"/Users\",\"bulkId\":\"u$n\",\"data\":{\"userName\":\"u$n@bench.example\",\"title\":\"Staff $n\"}}"
  done
  printf '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[%s]}' "$ops" >"$work/bulk.json"
  curl -fsS -o /dev/null -H "authorization: Bearer $key" -H 'content-type: application/scim+json' \
    --data-binary "@$work/bulk.json" "$tenant/Bulk"
done
before=$(hwm)
for i in $(seq 1 16); do
  curl -s -o "$work/filter$i" -w '%{http_code}\n' -H "authorization: Bearer $key" \
    "$tenant/Users?filter=title%20eq%20%22Staff%20$i%22" >"$work/status$i" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
statuses=$(cat "$work"/status* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
report "16 unindexed filters over $users users [$statuses]" "$before"
stop
