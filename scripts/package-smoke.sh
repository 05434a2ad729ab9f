#!/usr/bin/env bash
# Smoke test of the release archive as a user gets it: unpacked into an empty directory (no
# target/ in sight), started there, then the console's browser tests that sign in, hydrate and
# use a SCIM API key (tests/console.spec.ts, tests/access.spec.ts in Chromium), and a SCIM
# discovery request with a key made by the archive's own CLI.
#
# Usage: scripts/package-smoke.sh [dist/provisio-*.tar.gz]   (default: the newest archive; run
# scripts/package.sh first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
archive=${1:-$(ls -t "$root"/dist/provisio-*.tar.gz | head -1)}
"$root/scripts/install-tools.sh" test >&2
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
bin=$(ls -d "$work"/provisio-*/provisio)
mkdir "$work/cwd"
export PROVISIO_DATA_DIR="$work/data" PROVISIO_ADMIN_PASSWORD="smoke admin password $(date +%s)"
(cd "$work/cwd" && exec "$bin" serve --bind 127.0.0.1:0) >"$work/log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 200); do
  url=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$work/log" | head -1)
  [ -n "$url" ] && curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/log"; echo "the archive's server did not start" >&2; exit 1; }
echo "[smoke] $archive serving at $url from an empty directory"
created=$(cd "$work/cwd" && "$bin" account create --name Smoke --public-url "$url")
account=$(sed -n 's/^Account id: //p' <<<"$created")
tenant=$(sed -n 's/^Tenant URL: //p' <<<"$created")
key=$(cd "$work/cwd" && "$bin" api-key create --account "$account" --name smoke --group "Account Administrators" 2>/dev/null)
curl -fsS -H "Authorization: Bearer $key" "$tenant/ServiceProviderConfig" | grep -q '"patch"' \
  || { echo "[smoke] SCIM discovery failed at $tenant" >&2; exit 1; }
echo "[smoke] SCIM discovery answers at $tenant"
(cd "$root/end2end" && PROVISIO_E2E_URL="$url" PROVISIO_E2E_ADMIN_PASSWORD="$PROVISIO_ADMIN_PASSWORD" \
  npx playwright test tests/console.spec.ts tests/access.spec.ts --reporter=line)
echo "[smoke] passed"
