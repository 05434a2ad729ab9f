#!/usr/bin/env bash
# Builds Provisio without cargo-leptos: the browser bundle into target/site (the hydrate library
# for wasm32, wasm-bindgen's JS glue, wasm-opt for release, the style sheet and public files),
# then the server binary. What `cargo leptos build [--release]` did, with only the tools
# scripts/install-tools.sh installs (wasm-bindgen-cli, and wasm-opt for release).
#
# Usage: scripts/build.sh [--release]
#   debug:   target/debug/provisio (tests and development)
#   release: target/release/provisio, small and optimised, its site compressed
# Both embed the site (one file to deploy; `--site-root target/site` serves it from disk instead).
#
# Both use RUSTFLAGS="--cfg erase_components": every component's view is type-erased. In debug
# builds that means faster compiles of the view code, and the same flag as the tests and lints
# (one set of compiled dependencies); in release it makes the browser bundle 40% smaller (wasm
# 4.38 MB -> 2.97 MB, 1,020 KB -> 612 KB with brotli, BENCHMARKS.md "Console pages"), because
# each concrete view type otherwise gets its own copies of the build, rebuild and hydrate code.
# The browser tests then run against the same kind of build that ships. (scripts/test.sh still
# builds the bundle once with full view types, for anyone building without the flag.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
release=0
[ "${1:-}" = "--release" ] && release=1
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=provisio CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
log() { printf '[build] %s\n' "$*" >&2; }

site=target/site
pkg=$site/pkg
export RUSTFLAGS="--cfg erase_components"
if [ $release = 1 ]; then
  wasm_args=(--profile wasm-release)
  wasm_out=target/wasm32-unknown-unknown/wasm-release/provisio.wasm
else
  wasm_args=()
  wasm_out=target/wasm32-unknown-unknown/debug/provisio.wasm
fi

log "browser bundle: the hydrate library for wasm32"
cargo build --lib --target wasm32-unknown-unknown --no-default-features --features hydrate "${wasm_args[@]}"

# Rebuilt only when the wasm, the style sheet or a public file changed: a second run with nothing
# changed skips wasm-bindgen and wasm-opt.
stamp=$( (echo "release=$release"; sha256sum "$wasm_out" style/main.css
  find public -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
if [ -d "$pkg" ] && [ "$(cat target/site.stamp 2>/dev/null)" = "$stamp" ]; then
  log "browser bundle: unchanged"
else
  # Assembled beside the site and swapped in whole, so a server reading target/site never sees
  # half of a new bundle.
  next=$(mktemp -d "$root/target/site.next.XXXXXX")
  mkdir -p "$next/pkg"
  log "browser bundle: wasm-bindgen"
  bindgen_args=()
  [ $release = 1 ] && bindgen_args=(--remove-name-section --remove-producers-section)
  wasm-bindgen --target web --no-typescript "${bindgen_args[@]}" --out-dir "$next/pkg" --out-name provisio "$wasm_out"
  mv "$next/pkg/provisio_bg.wasm" "$next/pkg/provisio.wasm"
  if [ $release = 1 ]; then
    log "browser bundle: wasm-opt"
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$next/pkg/provisio.wasm" -o "$next/pkg/provisio.opt.wasm"
    mv "$next/pkg/provisio.opt.wasm" "$next/pkg/provisio.wasm"
  fi
  cp style/main.css "$next/pkg/provisio.css"
  cp -R public/. "$next/"
  if [ $release = 1 ]; then
    # Compressed once here, served as is (brotli 11 and gzip 9; only where smaller).
    log "browser bundle: brotli and gzip copies"
    node -e '
      const fs = require("fs"), path = require("path"), zlib = require("zlib");
      const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
        const p = path.join(d, e.name);
        if (e.isDirectory()) return walk(p);
        const raw = fs.readFileSync(p);
        if (raw.length < 512) return;
        const br = zlib.brotliCompressSync(raw, { params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
        const gz = zlib.gzipSync(raw, { level: 9 });
        if (br.length < raw.length) fs.writeFileSync(p + ".br", br);
        if (gz.length < raw.length) fs.writeFileSync(p + ".gz", gz);
      });
      walk(process.argv[1]);' "$next"
  fi
  chmod 755 "$next"
  rm -rf "$site.old"
  if [ -d "$site" ]; then mv "$site" "$site.old"; fi
  mv "$next" "$site"
  rm -rf "$site.old"
  echo "$stamp" > target/site.stamp
fi

# The site is embedded in the server (build.rs): one file to deploy. Tests and lints set the same
# PROVISIO_EMBED_SITE so they share this build's artifacts.
export PROVISIO_EMBED_SITE="$root/$site"
if [ $release = 1 ]; then
  log "server (release, the site embedded)"
  cargo build --release --no-default-features --features ssr --bin provisio
else
  log "server (debug, the site embedded)"
  cargo build --no-default-features --features ssr --bin provisio
fi
log "done"
