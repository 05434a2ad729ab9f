#!/usr/bin/env bash
# Makes a PostgreSQL server available for the test suite and prints its URL (a superuser that may
# create databases) on stdout. Uses PROVISIO_TEST_POSTGRES_URL when it is set; otherwise installs
# Debian's PostgreSQL if it is missing, starts the local cluster if it is down, and sets a password
# for a `provisio_test` role. Progress goes to stderr.
set -euo pipefail
say() { echo "[postgres] $*" >&2; }
if [ -n "${PROVISIO_TEST_POSTGRES_URL:-}" ]; then
  echo "$PROVISIO_TEST_POSTGRES_URL"
  exit 0
fi
sudo_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  say "installing Debian's postgresql"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -q postgresql >&2 ||
    { DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -q postgresql >&2; }
fi
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1) || true
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  say "creating cluster $version/main"
  if [ "$(id -u)" = 0 ]; then pg_createcluster "$version" main >&2; else sudo pg_createcluster "$version" main >&2; fi
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1)
fi
if [ "$status" != online ]; then
  say "starting cluster $version/$cluster on port $port"
  if [ "$(id -u)" = 0 ]; then pg_ctlcluster "$version" "$cluster" start >&2; else sudo pg_ctlcluster "$version" "$cluster" start >&2; fi
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
password=provisio_test
sudo_pg psql -q -p "$port" -v ON_ERROR_STOP=1 >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'provisio_test') THEN
    CREATE ROLE provisio_test LOGIN CREATEDB PASSWORD '$password';
  END IF;
END \$\$;
SQL
echo "postgres://provisio_test:$password@127.0.0.1:$port/postgres"
