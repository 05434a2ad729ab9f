#!/usr/bin/env bash
# Makes a release archive: dist/provisio-VERSION-ARCH-linux.tar.gz with the release binary (the
# browser bundle embedded: nothing else is needed at run time), README.md, LICENSE, an example
# settings file and a hardened systemd unit; and its SHA-256 beside it. Prints the archive's path.
#
# Usage: scripts/package.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" build
"$root/scripts/build.sh" --release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name="provisio-$version-$(uname -m)-linux"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp target/release/provisio "$stage/$name/"
cp README.md LICENSE packaging/provisio.service packaging/provisio.env.example "$stage/$name/"
mkdir -p dist
tar -C "$stage" --owner=0 --group=0 -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "[package] $(du -h "dist/$name.tar.gz" | cut -f1) dist/$name.tar.gz ($(du -h target/release/provisio | cut -f1) binary)" >&2
echo "dist/$name.tar.gz"
