#!/usr/bin/env bash
# Fuzzes the SCIM parsers and the PATCH applier (crates/scim) and the mapping expression parser
# (crates/mapping) with libFuzzer through cargo-fuzz,
# each target for SECONDS (default 60). Needs the nightly toolchain (rustup toolchain install
# nightly); installs cargo-fuzz if missing. Crashes land in fuzz/artifacts/<target>/; turn each
# into a regression test in the crate before fixing it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$root/fuzz"
for target in filter path patch expression; do
  echo "== fuzz $target for ${seconds}s"
  unset RUSTFLAGS
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -max_len=4096
done
