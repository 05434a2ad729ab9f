#!/usr/bin/env bash
# The provisioning benchmark (BENCHMARKS.md): builds the release binary, then runs
# `provisio bench-provisioning`: the initial cycle of a generated directory (100,000 users, 1,000
# groups) into a local account over HTTP, propagation of single changes, an empty incremental cycle,
# and the same initial cycle into scim2-server beside Provisio's own account when the peers are installed.
# Extra arguments go to bench-provisioning, e.g. --users 20000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-tools.sh" test >&2
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS
"$root/scripts/build.sh" --release >&2
peer="$root/target/peers-venv/bin/scim2-server"
if [ -x "$peer" ]; then
  exec "$root/target/release/provisio" bench-provisioning --scim2-server "$peer" "$@"
fi
exec "$root/target/release/provisio" bench-provisioning "$@"
