#!/usr/bin/env bash
# The monthly scorecard benchmark on SQLite and on PostgreSQL 15 in one run (docs/PERFORMANCE.md,
# "Service metrics"). The PostgreSQL run uses a throwaway cluster (fsync=on) in a temporary
# directory on a free loopback port, stopped at exit.
# Usage: bench/scorecard.sh [contacts] [cases]   (default 1000000 100000)
#        ONLY=postgres (or ONLY=sqlite) runs one of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
CONTACTS=${1:-1000000}
CASES=${2:-100000}
BIN=build/release/bench/scorecard_benchmark
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$BIN" ] || { echo "missing $BIN: cmake --build --preset release --target scorecard_benchmark" >&2; exit 1; }
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
pgdata=$tmp/pgdata
pg_started=0
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [ "$pg_started" = 1 ]; then as_pg "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ "${ONLY:-}" != postgres ]; then
  echo "SQLite:"
  "$BIN" --interactions "$CONTACTS" --cases "$CASES" 2>/dev/null
fi
[ "${ONLY:-}" = sqlite ] && exit 0

pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$pgdata" "$tmp/pgsock"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdata" "$tmp/pgsock"
as_pg "$PGBIN/initdb" -D "$pgdata" -A trust -U postgres --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$pgdata" -l "$tmp/pgsock/pg.log" -w -o \
  "-p $pgport -k $tmp/pgsock -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
pg_started=1
as_pg "$PGBIN/createuser" -h 127.0.0.1 -p "$pgport" -U postgres onedoor
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres -O onedoor onedoor
echo "PostgreSQL 15:"
URL="postgres://onedoor@127.0.0.1:$pgport/onedoor"
# Loaded, then vacuumed and analysed as autovacuum would do in a running deployment, then measured.
"$BIN" --interactions "$CONTACTS" --cases "$CASES" --db "$URL" --phase load 2>/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d onedoor -qc "VACUUM ANALYZE"
"$BIN" --interactions "$CONTACTS" --cases "$CASES" --db "$URL" --phase measure 2>/dev/null
