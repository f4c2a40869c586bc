#!/usr/bin/env bash
# End-to-end benchmark of the foundation, on loopback with wrk. Compares, in one run:
#   - reads of a client record through the full path (API token, access gate, audit entry
#     committed before the answer) against a bare RESTinio endpoint with a 1 KB body;
#   - creates from 64 connections against creates from 1 connection (the single-writer
#     commit rate), which shows what group commit buys.
# Usage: bench/run.sh [seconds per run]   (make bench builds first)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BIN=${ONEDOOR_BENCH_BIN:-build/release/onedoor}  # another build to compare: ONEDOOR_BENCH_BIN=path
BARE=build/release/bench/bare_server
for f in "$BIN" "$BARE"; do [ -x "$f" ] || { echo "missing $f: run make bench" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk is not installed: run make deps" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_ready() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "server did not start" >&2; exit 1; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }

export ONEDOOR_DB=$tmp/bench.db ONEDOOR_LOG_LEVEL=warn
# One token makes every read: its limit is set out of reach, so that the check is still measured.
export ONEDOOR_TOKEN_REQUESTS_PER_MINUTE=1000000000
"$BIN" migrate >/dev/null 2>&1
"$BIN" demo-data >/dev/null 2>&1
export ONEDOOR_TOKEN=$("$BIN" token create --agency city-social --name bench --roles caseworker --scopes persons:read,persons:write 2>/dev/null)
export MAX_ID=300

bare_port=$(free_port)
"$BARE" "$bare_port" 2 & pids+=($!)
wait_ready "http://127.0.0.1:$bare_port/"
wrk -t2 -c64 -d"${SECS}s" --latency -s bench/bare.lua "http://127.0.0.1:$bare_port" > "$tmp/bare.txt"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

port=$(free_port)
ONEDOOR_LISTEN=127.0.0.1:$port ONEDOOR_IO_THREADS=2 "$BIN" serve >/dev/null 2>"$tmp/serve.log" & pids+=($!)
wait_ready "http://127.0.0.1:$port/readyz"
base="http://127.0.0.1:$port"
curl -sf -H "Authorization: Bearer $ONEDOOR_TOKEN" "$base/api/v1/persons/1" >/dev/null || { echo "read check failed" >&2; exit 1; }
wrk -t2 -c64 -d"${SECS}s" --latency -s bench/me.lua "$base" > "$tmp/me.txt"
wrk -t2 -c64 -d"${SECS}s" --latency -s bench/read.lua "$base" > "$tmp/read.txt"
wrk -t1 -c1 -d"${SECS}s" --latency -s bench/create.lua "$base" > "$tmp/create1.txt"
wrk -t2 -c64 -d"${SECS}s" --latency -s bench/create.lua "$base" > "$tmp/create64.txt"
"$BIN" audit verify > "$tmp/verify.txt" 2>&1 || { cat "$tmp/verify.txt"; exit 1; }

for f in me read create1 create64; do
  if grep -q "Non-2xx" "$tmp/$f.txt"; then echo "errors in $f:"; cat "$tmp/$f.txt"; exit 1; fi
done

bare=$(rps "$tmp/bare.txt"); read=$(rps "$tmp/read.txt"); c1=$(rps "$tmp/create1.txt"); c64=$(rps "$tmp/create64.txt")
cat <<REPORT
machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)
bare RESTinio GET (64 conns):      $bare req/s, p99 $(p99 "$tmp/bare.txt")
token-authenticated /api/v1/me:    $(rps "$tmp/me.txt") req/s, p99 $(p99 "$tmp/me.txt")  (no person data, no audit write)
client read, full path (64 conns): $read req/s, p99 $(p99 "$tmp/read.txt")
  ratio to bare:                   $(awk -v a="$read" -v b="$bare" 'BEGIN {printf "%.0f%%", 100*a/b}')  (goal: at least 40%)
create, 1 connection:              $c1 req/s, p99 $(p99 "$tmp/create1.txt")
create, 64 connections:            $c64 req/s, p99 $(p99 "$tmp/create64.txt")
  group commit gain:               $(awk -v a="$c64" -v b="$c1" 'BEGIN {printf "%.1fx", a/b}')  (goal: at least 3x)
$(cat "$tmp/verify.txt")
REPORT
