#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (the real server over HTTP on
# temporary SQLite files), and browser tests in Chromium with and without JavaScript.
# Installs every missing tool first (idempotent). Starts every service it needs itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" test
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# leptos_config reads this with option_env!, so rustc tracks it: scripts/build.sh sets it, and without
# the same value here `cargo test` would recompile the leptos crates after every build.
export LEPTOS_OUTPUT_NAME=provisio
export CARGO_TERM_COLOR=never
unset RUSTFLAGS
# Integration tests use scim2-server from the peers; when the peers are here they must run.
if [ -f "$root/../shared/peers/setup.sh" ]; then
  export PROVISIO_REQUIRE_PEERS=1
fi

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "build: server and browser (wasm)"
# scripts/build.sh builds with RUSTFLAGS="--cfg erase_components"; tests and lints use exactly
# that flag and share its compiled dependencies (any other RUSTFLAGS string would recompile the
# whole tree).
"$root/scripts/build.sh"

step "browser bundle with its full view types (a build without erase_components)"
# Our builds erase the views' types (--cfg erase_components, debug and release alike); a build
# without the flag (cargo leptos, a plain cargo build) compiles the full types, and a view nested
# too deeply for rustc ("queries overflow the depth limit") fails only there, which once broke
# scripts/serve.sh while every test passed. Its own target directory keeps these artifacts apart
# from the erased ones (one RUSTFLAGS per directory, or each build recompiles the other's).
RUSTFLAGS="" cargo build --lib --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --target-dir "$root/target/full-types"
export RUSTFLAGS="--cfg erase_components" PROVISIO_EMBED_SITE="$root/target/site"

step "unit and integration tests"
results=$(mktemp -d)
cargo test --no-default-features --features ssr 2>&1 | tee "$results/cargo.log"
# The pure crates' own unit and property tests: the SCIM protocol, the mapping language.
cargo test -p provisio-scim -p provisio-mapping 2>&1 | tee -a "$results/cargo.log"

step "integration tests on PostgreSQL"
postgres="skipped: PROVISIO_TEST_POSTGRES_URL is not set (.ci/run sets it; scripts/postgres.sh prints one)"
if [ -n "${PROVISIO_TEST_POSTGRES_URL:-}" ]; then
  # One database per test data directory (tests/common); drop what an earlier run left.
  drop_test_databases() {
    psql "$PROVISIO_TEST_POSTGRES_URL" -Atq -c \
      "SELECT datname FROM pg_database WHERE datname LIKE 'provisio\_t\_%'" |
      while read -r db; do psql "$PROVISIO_TEST_POSTGRES_URL" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
  }
  drop_test_databases
  PROVISIO_TEST_BACKEND=postgres cargo test --no-default-features --features ssr --test '*' 2>&1 |
    tee "$results/cargo-postgres.log"
  cat "$results/cargo-postgres.log" >>"$results/cargo.log"
  drop_test_databases
  postgres=$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$results/cargo-postgres.log")
fi
echo "PostgreSQL: $postgres"

step "lints"
cargo clippy --no-default-features --features ssr --all-targets -- -D warnings
cargo clippy -p provisio-scim -p provisio-mapping --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings

step "browser tests (Playwright, Debian's Chromium)"
work=$(mktemp -d)
server_pid=""
pg_server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$pg_server_pid" ] && kill "$pg_server_pid" 2>/dev/null && wait "$pg_server_pid" 2>/dev/null
  rm -rf "$work" "$results"
}
trap cleanup EXIT
# start_server DATA_DIR LOG: starts provisio on a free port in the background (with whatever
# PROVISIO_* the caller exported); sets started_pid and started_url once it is ready.
# The binary runs as deployed: copied alone into an empty directory, no target/ in sight, the
# browser bundle served from the binary itself (the browser tests prove it hydrates).
deployed="$work/deployed"
mkdir -p "$deployed/cwd"
cp "$root/target/debug/provisio" "$deployed/provisio"
. "$root/scripts/lib/start-provisio.sh"
start_server() {
  PROVISIO_DATA_DIR="$1" PROVISIO_ADMIN_PASSWORD="$PROVISIO_E2E_ADMIN_PASSWORD" \
    PROVISIO_LOG=warn,provisio=info start_provisio "$deployed/provisio" "$deployed/cwd" "$2"
}
export PROVISIO_E2E_ADMIN_PASSWORD="e2e admin password $(date +%s)"
start_server "$work/data" "$work/server.log"
server_pid=$started_pid url=$started_url
echo "server at $url"
(cd end2end && PROVISIO_E2E_URL="$url" PLAYWRIGHT_JSON_OUTPUT_NAME="$results/e2e.json" \
  npx playwright test --reporter=list,json) || { echo "--- server log"; tail -50 "$work/server.log"; exit 1; }

step "SCIM conformance: scim2-tester and scim-sanity against the running server"
conformance="skipped (../shared/peers not found)"
if [ -f "$root/../shared/peers/setup.sh" ]; then
  "$root/scripts/scim-conformance.sh" "$url" "$work/data" "$results" | tee "$results/conformance.log"
  conformance="$(grep -o '"total": [0-9]*, "counts": {[^}]*}' "$results/conformance.log" | head -1); $(grep '^scim-sanity:' "$results/conformance.log")"
fi

step "SCIM conformance on PostgreSQL"
if [ -z "${PROVISIO_TEST_POSTGRES_URL:-}" ]; then
  pg_conformance="skipped: PROVISIO_TEST_POSTGRES_URL is not set"
elif [ ! -f "$root/../shared/peers/setup.sh" ]; then
  pg_conformance="skipped (../shared/peers not found)"
else
  psql "$PROVISIO_TEST_POSTGRES_URL" -q -c "DROP DATABASE IF EXISTS provisio_t_conformance WITH (FORCE)" \
    -c "CREATE DATABASE provisio_t_conformance"
  PROVISIO_DATABASE_URL="${PROVISIO_TEST_POSTGRES_URL%/*}/provisio_t_conformance"
  export PROVISIO_DATABASE_URL
  start_server "$work/pg-data" "$work/pg-server.log"
  pg_server_pid=$started_pid
  "$root/scripts/scim-conformance.sh" "$started_url" "$work/pg-data" "$results" | tee "$results/pg-conformance.log"
  kill "$pg_server_pid" && wait "$pg_server_pid" 2>/dev/null || true
  pg_server_pid=""
  unset PROVISIO_DATABASE_URL
  psql "$PROVISIO_TEST_POSTGRES_URL" -q -c "DROP DATABASE IF EXISTS provisio_t_conformance WITH (FORCE)"
  pg_conformance="$(grep -o '"total": [0-9]*, "counts": {[^}]*}' "$results/pg-conformance.log" | head -1); $(grep '^scim-sanity:' "$results/pg-conformance.log")"
fi

step "summary"
rust=$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d %d", p, f }' "$results/cargo.log")
e2e=$(node -e 'const s = require(process.argv[1]).stats; console.log(`${s.expected} ${s.unexpected + s.flaky}`)' "$results/e2e.json")
read -r rp rf <<<"$rust"
read -r ep ef <<<"$e2e"
echo "rust: $rp passed, $rf failed (of which on PostgreSQL: $postgres)"
echo "browser: $ep passed, $ef failed"
echo "scim conformance: $conformance"
echo "scim conformance on PostgreSQL: $pg_conformance"
echo "total: $((rp + ep)) passed, $((rf + ef)) failed"
