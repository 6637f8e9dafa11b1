#!/usr/bin/env bash
# A throw-away PostgreSQL server on 127.0.0.1, for tests and for trying the cluster mode by hand.
#
#   scripts/pg-server.sh start DIR [PORT]   initdb DIR/data (if new) and start a server; prints its URL
#   scripts/pg-server.sh stop DIR           stop the server started in DIR (fast shutdown)
#
# Needs Debian's postgresql (15+). PostgreSQL refuses to run as root, so as root the cluster is
# owned by the `postgres` system user the package creates. The URL printed is
#   postgres://strata@127.0.0.1:PORT/strata
# (trust authentication on loopback only: never use this for data you care about). The server runs
# with fsync and synchronous commit off, for fast tests; PG_SERVER_DURABLE=1 keeps PostgreSQL's
# durable defaults (benchmarks that compare its commits with SQLite's fsynced ones).
set -euo pipefail

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [[ -x "$candidate/initdb" ]]; then bindir="$candidate"; break; fi
done
[[ -n "$bindir" ]] || { echo "pg-server.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 2; }

cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    port="${3:-}"
    if [[ -z "$port" ]]; then
      port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    fi
    mkdir -p "$dir/data"
    if [[ "$(id -u)" == 0 ]]; then chown -R postgres: "$dir"; fi
    chmod 0700 "$dir" "$dir/data"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C --encoding=UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [[ "${PG_SERVER_DURABLE:-}" == 1 ]] && fast=""
    # Sockets in the data directory (not /var/run/postgresql, which may not exist); loopback TCP only.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200 $fast" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE strata LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strata')\gexec
SELECT 'CREATE DATABASE strata OWNER strata' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'strata')\gexec
SQL
    echo "$port" >"$dir/strata-port"
    echo "postgres://strata@127.0.0.1:$port/strata"
    ;;
  stop)
    [[ -f "$dir/data/PG_VERSION" ]] || exit 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
