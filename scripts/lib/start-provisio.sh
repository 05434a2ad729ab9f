# Sourced by the scripts that run a Provisio binary in the background (test.sh, bench-deploy.sh,
# package-smoke.sh).
#
# start_provisio BIN CWD LOG: starts `BIN serve --bind 127.0.0.1:0` in directory CWD (with
# whatever PROVISIO_* the caller exported), its output in LOG; returns once /readyz answers, with
# started_pid and started_url set. Exits the calling script when the server does not start.
start_provisio() {
  (cd "$2" && exec "$1" serve --bind 127.0.0.1:0) >"$3" 2>&1 &
  started_pid=$!
  started_url=""
  for _ in $(seq 1 200); do
    started_url=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$3" | head -1)
    [ -n "$started_url" ] && curl -fsS "$started_url/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$started_pid" 2>/dev/null || { cat "$3"; echo "the server did not start" >&2; exit 1; }
    sleep 0.1
  done
  cat "$3"
  echo "the server did not get ready" >&2
  exit 1
}
