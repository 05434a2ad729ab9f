#!/usr/bin/env bash
# Installs every tool the build and the tests need, skipping what is already present.
# Idempotent: a second run costs seconds. Versions are pinned to ones measured on this machine
# kind (see ../shared/reference/toolchain.md in the project workspace).
#
# Usage: scripts/install-tools.sh [build|test]
#   build  the Rust side: wasm target, wasm-bindgen-cli, wasm-opt (scripts/build.sh replaces
#          cargo-leptos, whose install alone took 10-28 minutes)
#   test   build + Chromium, Playwright and the Python SCIM peers
set -euo pipefail
what=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
PLAYWRIGHT_VERSION=1.65.1

log() { printf '[install] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock file names a webpki-roots version the registry here lacks.
  CARGO_PROFILE_RELEASE_LTO=false cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# wasm-opt for release builds, from npm's binaryen (Debian's wasm-opt 108 yields a broken wasm).
if [ ! -x "$root/tools/node_modules/.bin/wasm-opt" ] || \
   ! grep -q "\"version\": \"$BINARYEN_VERSION\"" "$root/tools/node_modules/binaryen/package.json" 2>/dev/null; then
  log "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
  (cd "$root/tools" && npm install --no-audit --no-fund --loglevel=error)
fi

if [ "$what" = test ]; then
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's Chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -d "$root/end2end/node_modules/@playwright/test" ] || \
     ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$root/end2end/node_modules/@playwright/test/package.json" 2>/dev/null; then
    log "installing Playwright $PLAYWRIGHT_VERSION (no browser download: Debian's Chromium is used)"
    (cd "$root/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
      || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
  fi
  peers=$root/../shared/peers/setup.sh
  if [ -f "$peers" ]; then
    log "checking the Python SCIM peers"
    bash "$peers" "$root/target/peers-venv" >/dev/null
  fi
fi
log "tools ready"
