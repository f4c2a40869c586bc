#!/usr/bin/env bash
# The client index on the FEBRL record-linkage sets: quality and end-to-end time of
# `onedoor link eval` (read the files, normalise, block, train, score, decide), five runs each,
# median seconds. Usage: bench/febrl.sh   (make bench-identity builds first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/onedoor
D=${FEBRL_DIR:-third_party/febrl}
[ -x "$BIN" ] || { echo "missing $BIN: run make bench-identity" >&2; exit 1; }
run() {  # label, args...
  local label=$1; shift
  local out secs=()
  for _ in 1 2 3 4 5; do
    out=$("$BIN" link eval --format febrl "$@")
    secs+=("$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')")
  done
  local median; median=$(printf '%s\n' "${secs[@]}" | sort -g | sed -n 3p)
  echo "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); print(f\"$label: F1 {r['f1']:.6f} (precision {r['precision']:.6f}, recall {r['recall']:.6f}), pairs compared {r['pairs_compared']}, median {float('$median'):.3f} s of 5\")"
}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
run "FEBRL4 link, all fields" "$D/dataset4a.csv" "$D/dataset4b.csv"
run "FEBRL4 link, no soc_sec_id" "$D/dataset4a.csv" "$D/dataset4b.csv" --ignore soc_sec_id
run "FEBRL3 dedup" "$D/dataset3.csv"
run "FEBRL3 dedup, no soc_sec_id" "$D/dataset3.csv" --ignore soc_sec_id
