#!/usr/bin/env bash
# The foundation's read and create benchmarks on PostgreSQL 15, in the same run as on SQLite,
# with one and with two `onedoor serve` processes, on loopback with wrk:
#   (a) SQLite, one server:      reads at 64 conns, creates at 1 conn, creates at 64 conns;
#   (b) PostgreSQL, one server:  the same;
#   (c) PostgreSQL, two servers: reads and creates at 64 conns spread over both servers by two
#       wrk processes (32 conns each, one per server) whose rates are summed (no load balancer:
#       one less process competing for the two cores).
# It starts a throwaway PostgreSQL 15 cluster (fsync=on, synchronous_commit=on) in a temporary
# directory on a free loopback port and stops it at exit. For each run it samples the machine's
# busy% (/proc/stat) and the CPU time of postgres, onedoor and wrk, so that the report says
# where the CPU goes. Every response must be 2xx and both audit chains must verify.
# Usage: bench/run_postgres.sh [seconds per run]   (default 8; about 2 minutes in all)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
SRC_BIN=${ONEDOOR_BENCH_BIN:-build/release/onedoor}  # another build to compare: ONEDOOR_BENCH_BIN=path
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$SRC_BIN" ] || { echo "missing $SRC_BIN: cmake --preset release && ninja -C build/release onedoor" >&2; exit 1; }
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed: run make deps" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
pgdata=$tmp/pgdata
pg_started=0
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$pg_started" = 1 ]; then as_pg "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A private copy, so that a rebuild by someone else during the run does not swap the binary.
BIN=$tmp/onedoor
cp "$SRC_BIN" "$BIN"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_ready() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "server did not start" >&2; exit 1; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
HZ=$(getconf CLK_TCK)

# --- PostgreSQL 15 cluster -------------------------------------------------------------------
pgport=$(free_port)
mkdir -p "$pgdata" "$tmp/pgsock"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdata" "$tmp/pgsock"
as_pg "$PGBIN/initdb" -D "$pgdata" -A trust -U postgres --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$pgdata" -l "$tmp/pgsock/pg.log" -w -o \
  "-p $pgport -k $tmp/pgsock -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200" \
  start >/dev/null
pg_started=1
as_pg "$PGBIN/createuser" -h 127.0.0.1 -p "$pgport" -U postgres onedoor
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$pgport" -U postgres -O onedoor onedoor
PGURL="postgres://onedoor@127.0.0.1:$pgport/onedoor"
postmaster=$(head -1 "$pgdata/postmaster.pid")
pgq() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d onedoor -Atc "$1"; }
pg_pids() { echo "$postmaster"; ps --ppid "$postmaster" -o pid= 2>/dev/null || true; }

# --- CPU accounting --------------------------------------------------------------------------
# "pid ticks" lines (utime+stime) for the given pids.
snap_procs() { for p in "$@"; do [ -r "/proc/$p/stat" ] && awk -v p="$p" '{sub(/^.*\) /, ""); print p, $12+$13}' "/proc/$p/stat" 2>/dev/null; done; true; }
# Ticks used between two snapshots (pids new in the second count from zero).
ticks_between() { awk 'NR==FNR {b[$1]=$2; next} {d += $2 - ($1 in b ? b[$1] : 0)} END {print d+0}' "$1" "$2"; }
snap_stat() { awk '/^cpu / {t=0; for (i=2;i<=NF;i++) t+=$i; print t, $5+$6}' /proc/stat; }

export ONEDOOR_LOG_LEVEL=warn ONEDOOR_IO_THREADS=2
# One token makes every request: its limit is set out of reach, so that the check is still measured.
export ONEDOOR_TOKEN_REQUESTS_PER_MINUTE=1000000000
servers=()   # pids of the onedoor servers of the current scenario
start_server() {  # db, outvar-port
  local port; port=$(free_port)
  ONEDOOR_DB=$1 ONEDOOR_LISTEN=127.0.0.1:$port "$BIN" serve >/dev/null 2>>"$tmp/serve.log" &
  pids+=($!); servers+=($!)
  wait_ready "http://127.0.0.1:$port/readyz"
  last_port=$port
}
stop_servers() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; servers=(); }

# measure NAME LUA CONNS URL...: one wrk per URL, CONNS split evenly, run together; writes
# NAME.rps (sum), NAME.p99 (worst), NAME.cpu (busy% and cores used by postgres/onedoor/wrk).
measure() {
  local name=$1 lua=$2 conns=$3; shift 3
  local n=$# per=$(( conns / $# )) threads i=0
  threads=$(( per >= 2 ? 2 : 1 )); [ "$n" -gt 1 ] && threads=1
  snap_procs $(pg_pids) > "$tmp/$name.pg0"; snap_procs "${servers[@]}" > "$tmp/$name.od0"
  local s0; s0=$(snap_stat); local t0; t0=$(date +%s.%N)
  # On PostgreSQL, sample what the client sessions wait on (every 0.5 s) during the run.
  local sampler="" lsn0=""
  if [[ $name == pg* ]]; then
    lsn0=$(pgq "SELECT pg_current_wal_lsn()")
    ( end=$(( $(date +%s) + SECS - 1 )); while [ "$(date +%s)" -lt "$end" ]; do
        as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d onedoor -Atc \
          "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), count(*) FROM pg_stat_activity
           WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1" 2>/dev/null
        sleep 0.5; done > "$tmp/$name.waits" ) &
    sampler=$!
  fi
  TIMEFORMAT='%U %S'
  { time (
      for url in "$@"; do
        wrk -t"$threads" -c"$per" -d"${SECS}s" --latency -s "bench/$lua" "$url" > "$tmp/$name.$i.txt" &
        i=$((i + 1))
      done
      wait
    ); } 2> "$tmp/$name.time"
  local t1; t1=$(date +%s.%N); local s1; s1=$(snap_stat)
  if [ -n "$sampler" ]; then
    wait "$sampler" 2>/dev/null || true
    # WAL written per request (all sessions; the run's requests from wrk's totals).
    local reqs; reqs=$(cat "$tmp/$name".[0-9]*.txt | awk '/requests in/ {s += $1} END {print s}')
    pgq "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / $reqs)" > "$tmp/$name.walb"
    awk -F'|' '{c[$1] += $2; t += $2} END {for (k in c) printf "%s %.0f%%, ", k, 100*c[k]/t; print ""}' \
      "$tmp/$name.waits" | sed 's/, $//' > "$tmp/$name.wait"
  fi
  snap_procs $(pg_pids) > "$tmp/$name.pg1"; snap_procs "${servers[@]}" > "$tmp/$name.od1"
  for f in "$tmp/$name".[0-9]*.txt; do
    if grep -q "Non-2xx" "$f"; then echo "errors in $name:"; cat "$f"; exit 1; fi
    grep -q "Requests/sec" "$f" || { echo "wrk failed in $name:"; cat "$f"; exit 1; }
  done
  cat "$tmp/$name".[0-9]*.txt | awk '/Requests\/sec/ {s += $2} END {printf "%.0f\n", s}' > "$tmp/$name.rps"
  for f in "$tmp/$name".[0-9]*.txt; do p99 "$f"; done |
    awk '{v=$1; u=v; sub(/[a-z]+$/, "", v); if (u ~ /us$/) v/=1000; else if (u ~ /ms$/) v=v; else if (u ~ /s$/) v*=1000;
          if (v > m) m = v} END {printf "%.1f ms\n", m}' > "$tmp/$name.p99"
  local pg od wk
  pg=$(ticks_between "$tmp/$name.pg0" "$tmp/$name.pg1")
  od=$(ticks_between "$tmp/$name.od0" "$tmp/$name.od1")
  wk=$(awk '{print $1 + $2}' "$tmp/$name.time")
  echo "$s0 $s1 $t0 $t1 $pg $od $wk" | awk -v hz="$HZ" '{
      busy = 100 * (1 - ($4 - $2) / ($3 - $1)); wall = $6 - $5;
      printf "busy %3.0f%% | cores used: postgres %.2f, onedoor %.2f, wrk %.2f\n", busy, $7/hz/wall, $8/hz/wall, $9/wall }' \
    > "$tmp/$name.cpu"
}

setup_db() {  # db: migrate, demo data, token (printed)
  ONEDOOR_DB=$1 "$BIN" migrate >/dev/null 2>&1
  ONEDOOR_DB=$1 "$BIN" demo-data >/dev/null 2>&1
  ONEDOOR_DB=$1 "$BIN" token create --agency city-social --name bench --roles caseworker \
    --scopes persons:read,persons:write 2>/dev/null
}
check_read() { curl -sf -H "Authorization: Bearer $ONEDOOR_TOKEN" "$1/api/v1/persons/1" >/dev/null || { echo "read check failed on $1" >&2; exit 1; }; }
export MAX_ID=300

# --- (a) SQLite, one server ------------------------------------------------------------------
SQLITE_DB=$tmp/bench.db
export ONEDOOR_TOKEN; ONEDOOR_TOKEN=$(setup_db "$SQLITE_DB")
start_server "$SQLITE_DB"; a="http://127.0.0.1:$last_port"; check_read "$a"
measure sq_read read.lua 64 "$a"
measure sq_c1 create.lua 1 "$a"
measure sq_c64 create.lua 64 "$a"
stop_servers
ONEDOOR_LOG_LEVEL=error ONEDOOR_DB=$SQLITE_DB "$BIN" audit verify > "$tmp/verify_sqlite.txt" 2>&1 || { cat "$tmp/verify_sqlite.txt"; exit 1; }

# --- (b) PostgreSQL, one server --------------------------------------------------------------
ONEDOOR_TOKEN=$(setup_db "$PGURL")
start_server "$PGURL"; a="http://127.0.0.1:$last_port"; check_read "$a"
measure pg_read read.lua 64 "$a"
measure pg_c1 create.lua 1 "$a"
measure pg_c64 create.lua 64 "$a"

# --- (c) PostgreSQL, two servers -------------------------------------------------------------
start_server "$PGURL"; b="http://127.0.0.1:$last_port"; check_read "$b"
measure pg2_read read.lua 64 "$a" "$b"
measure pg2_c64 create.lua 64 "$a" "$b"
stop_servers
ONEDOOR_LOG_LEVEL=error ONEDOOR_DB=$PGURL "$BIN" audit verify > "$tmp/verify_pg.txt" 2>&1 || { cat "$tmp/verify_pg.txt"; exit 1; }
# Rows and on-disk bytes per row (heap + indexes + TOAST) of the main tables, for docs/SCALING.md.
pg_rows=$(as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U onedoor -d onedoor -AtF' ' -c \
  "SELECT t, n, pg_total_relation_size(t::regclass), pg_total_relation_size(t::regclass) / greatest(n, 1)
   FROM (VALUES ('persons'), ('person_names'), ('person_identifiers'), ('person_history'), ('source_records'),
                ('household_members'), ('audit_log'), ('outbox')) v(t),
        LATERAL (SELECT (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM ' || t, false, true, '')))[1]::text::bigint) z(n)" |
  awk '{printf "  %-20s %8d rows %10.1f MB %6d bytes/row\n", $1, $2, $3/1048576, $4}')

r() { cat "$tmp/$1.rps"; }
line() {
  printf '%-36s %8s req/s, p99 %-9s  %s' "$1" "$(r "$2")" "$(cat "$tmp/$2.p99")" "$(cat "$tmp/$2.cpu")"
  [ -s "$tmp/$2.wait" ] && printf '\n%-38s WAL %s bytes/request; sessions waiting on: %s' "" "$(cat "$tmp/$2.walb")" "$(cat "$tmp/$2.wait")"
  echo
}
ratio() { awk -v a="$(r "$1")" -v b="$(r "$2")" 'BEGIN {printf "%.2fx", a/b}'; }
cat <<REPORT
machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $("$PGBIN/postgres" --version); wrk on the same machine
each run ${SECS}s; two servers = two wrk processes (32 conns each, one per server), rates summed
SQLite, one server
$(line "  client read, 64 conns" sq_read)
$(line "  create, 1 conn" sq_c1)
$(line "  create, 64 conns" sq_c64)
  group commit gain:                 $(ratio sq_c64 sq_c1)
PostgreSQL, one server
$(line "  client read, 64 conns" pg_read)
$(line "  create, 1 conn" pg_c1)
$(line "  create, 64 conns" pg_c64)
  creates 64 conns vs 1 conn:        $(ratio pg_c64 pg_c1)  (goal: at least 3x)
PostgreSQL, two servers
$(line "  client read, 64 conns" pg2_read)
$(line "  create, 64 conns" pg2_c64)
  reads two servers vs one:          $(ratio pg2_read pg_read)  (goal: at least 1.6x)
  creates two servers vs one:        $(ratio pg2_c64 pg_c64)
PostgreSQL vs SQLite (one server):   reads $(ratio pg_read sq_read), creates x1 $(ratio pg_c1 sq_c1), creates x64 $(ratio pg_c64 sq_c64)
PostgreSQL tables after the run (heap + indexes + TOAST):
$pg_rows
SQLite:     $(cat "$tmp/verify_sqlite.txt")
PostgreSQL: $(cat "$tmp/verify_pg.txt")
REPORT
