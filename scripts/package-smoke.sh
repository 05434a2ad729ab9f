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
pid=""
trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
bin=$(ls -d "$work"/provisio-*/provisio)
mkdir "$work/cwd"
export PROVISIO_DATA_DIR="$work/data" PROVISIO_ADMIN_PASSWORD="smoke admin password $(date +%s)"
. "$root/scripts/lib/start-provisio.sh"
start_provisio "$bin" "$work/cwd" "$work/log"
pid=$started_pid url=$started_url
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
