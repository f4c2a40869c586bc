#!/usr/bin/env bash
# Builds the rule-language fuzzer with clang (libFuzzer, AddressSanitizer, UBSan) into
# build/fuzz/ when a source changed, then fuzzes for SECONDS (default 30) from the seed corpus
# (fuzz/corpus/rules: the shipped rule files and hand-written formulas). New inputs that
# reach new code are kept in build/fuzz/corpus; a crash is written to build/fuzz/ and fails.
#   fuzz/run.sh 30        the bounded run that `make test` does
#   make fuzz             ten minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
out=build/fuzz
mkdir -p "$out/corpus"
sources=(
  fuzz/rules_fuzzer.cc
  src/eligibility/decimal.cc src/eligibility/expr/parser.cc src/eligibility/rule_set.cc
  src/eligibility/evaluator.cc src/eligibility/screening.cc
  src/core/status.cc src/core/date.cc src/core/crypto.cc
)
binary="$out/rules_fuzzer"
stale=0
[ -x "$binary" ] || stale=1
for s in "${sources[@]}" src/eligibility/*.h src/eligibility/expr/*.h src/core/*.h; do
  [ "$s" -nt "$binary" ] && stale=1
done
if ((stale)); then
  echo "fuzz: building $binary"
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc "${sources[@]}" -o "$binary" -lyaml-cpp -lfmt -lsodium
fi
# Shipped rule files are the best seeds: real programs, parameters and inputs. New inputs are
# written to the first folder only.
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" fuzz/corpus/rules rules/us rules/uk rules/demo
