#!/usr/bin/env bash
# The eligibility engine at scale (docs/PERFORMANCE.md, "Eligibility"): HOUSEHOLDS generated
# households (default 1,000,000) against every shipped program on 2 threads, end to end through
# the CLI — read the CSV, check and parse every value, evaluate, write one row per household —
# three runs; then the same households under two rule sets (--compare) and a take-up report;
# then the in-process benchmarks (bench/eligibility_benchmark.cc: one household, the million in
# memory, and SNAP against the hand-written yardstick).
# Usage: bench/eligibility.sh [HOUSEHOLDS] [SEED]   (make bench-eligibility)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
SEED=${2:-2026}
AS_OF=2026-03-01  # inside SNAP's FY 2026 and the WIC 2025/26 guidelines
RULES=rules/inputs.yaml:rules/us:rules/demo

cmake --preset release >/dev/null
cmake --build --preset release -j "${JOBS:-$(nproc)}" --target onedoor eligibility_benchmark
BIN=build/release/onedoor
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
quiet() { grep -v '^warning: ' || true; }  # the rules' stale-parameter warnings, once is enough

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" rules generate --rules "$RULES" --households "$N" --seed "$SEED" --out "$TMP/households.csv" 2>&1 | quiet
echo "households.csv: $(du -m "$TMP/households.csv" | cut -f1) MB"

for run in 1 2 3; do
  echo "--- screen, run $run"
  /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KB" \
    "$BIN" rules screen --rules "$RULES" --as-of "$AS_OF" --threads 2 --csv "$TMP/households.csv" \
    --out "$TMP/results.csv" 2>&1 | quiet
done

echo "--- compare (the same rules on both sides: every household evaluated twice, no changes expected)"
/usr/bin/time -f "wall %e s, peak RSS %M KB" \
  "$BIN" rules screen --as-of "$AS_OF" --threads 2 --compare "$RULES" "$RULES" --csv "$TMP/households.csv" \
  --out "$TMP/changes.csv" 2>&1 | quiet
echo "changes listed: $(($(wc -l < "$TMP/changes.csv") - 1))"

echo "--- take-up (enrolments: 7 in 10 of the households screened eligible for SNAP)"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "snap.outcome") c = i; print "id,program"; next }
         $c == "eligible" && NR % 10 < 7 { print $1 ",snap" }' "$TMP/results.csv" > "$TMP/enrolled.csv"
/usr/bin/time -f "wall %e s, peak RSS %M KB" \
  "$BIN" rules screen --rules "$RULES" --as-of "$AS_OF" --threads 2 --csv "$TMP/households.csv" \
  --enrolled "$TMP/enrolled.csv" --take-up "$TMP/take_up.csv" 2>&1 | quiet

echo "--- in process"
build/release/bench/eligibility_benchmark
