#!/usr/bin/env bash
# The client index at scale: generate RECORDS (default 1,000,000) corrupted person records with
# known truth (`onedoor link generate`, fixed seed), deduplicate them end to end with
# `onedoor link eval` under /usr/bin/time -v, and print quality, time and peak memory.
# Goal: under 60 s and under 4 GB peak on 2 cores.
#
# Usage: bench/identity_scale.sh [RECORDS] [SEED]
#   Builds build/release first (cmake --preset release). GENERATE overrides the generator
#   command (default: "build/release/onedoor link generate").
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-1000000}
SEED=${2:-2026}
BIN=build/release/onedoor
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install time" >&2; exit 1; }
if [ ! -d build/release ]; then cmake --preset release >/dev/null; fi
cmake --build --preset release -j2 --target onedoor >/dev/null
read -r -a GENERATE <<<"${GENERATE:-$BIN link generate}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file=$tmp/generated.csv

start=$(date +%s.%N)
"${GENERATE[@]}" --records "$RECORDS" --seed "$SEED" --out "$file" 2>/dev/null
gen_seconds=$(python3 -c "print($(date +%s.%N) - $start)")

start=$(date +%s.%N)
/usr/bin/time -v -o "$tmp/time.txt" "$BIN" link eval --format febrl "$file" >"$tmp/report.json"
eval_seconds=$(python3 -c "print($(date +%s.%N) - $start)")

peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$tmp/time.txt")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
python3 - "$tmp/report.json" "$RECORDS" "$SEED" "$gen_seconds" "$eval_seconds" "$peak_kb" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
records, seed, gen_s, eval_s, peak_kb = sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"generated {int(records):,} records (seed {seed}) in {gen_s:.1f} s")
print(f"dedup: F1 {r['f1']:.6f} (precision {r['precision']:.6f}, recall {r['recall']:.6f}), "
      f"true pairs {r['true_pairs']:,}, pairs compared {r['pairs_compared']:,}, "
      f"blocking recall {r['blocking_recall']:.6f}")
print(f"cluster F1 {r['cluster_f1']:.6f}, links {r['links']:,}, review {r['review']:,}, "
      f"merges refused {r['merges_refused']:,}")
print("pairs by key: " + ", ".join(f"{k} {v:,}" for k, v in r["pairs_by_key"].items() if v))
print(f"engine seconds {r['seconds']:.1f}; `link eval` wall {eval_s:.1f} s (with evaluation); "
      f"peak RSS {peak_kb / 1048576:.2f} GiB")
PY
