#!/usr/bin/env bash
# Builds a libFuzzer target with clang (AddressSanitizer, UBSan) into build/fuzz/ when a source
# changed, then fuzzes it for SECONDS (default 30) from its seed corpus. New inputs that reach new
# code are kept in build/fuzz/corpus-TARGET; a crash is written to build/fuzz/ and fails.
#   fuzz/run.sh 30            the rule language (the bounded run of `make test`)
#   fuzz/run.sh 20 csv        the CSV reader of imports
#   fuzz/run.sh 20 json       JSON request bodies (a person)
#   fuzz/run.sh 20 hsds       the Open Referral HSDS import
#   fuzz/run.sh 20 config     the YAML configuration file
#   make fuzz                 each for ten minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
target="${2:-rules}"
out=build/fuzz
core=(src/core/status.cc src/core/date.cc src/core/crypto.cc src/core/utf8.cc)
libs=(-lyaml-cpp -lfmt -lsodium -lcrypto)
case "$target" in
  rules)
    sources=(src/eligibility/decimal.cc src/eligibility/expr/parser.cc src/eligibility/rule_set.cc
             src/eligibility/evaluator.cc src/eligibility/screening.cc src/eligibility/yaml_keys.cc)
    headers=(src/eligibility/*.h src/eligibility/expr/*.h)
    # Shipped rule files are the best seeds: real programs, parameters and inputs.
    seeds=(fuzz/corpus/rules rules/us rules/uk rules/demo) ;;
  csv)
    sources=(src/registry/csv.cc)
    headers=(src/registry/csv.h)
    seeds=(fuzz/corpus/csv) ;;
  json)
    sources=(src/registry/person.cc src/access/data_categories.cc src/access/principal.cc src/access/access_gate.cc
             src/core/money.cc src/core/clock.cc)
    headers=(src/registry/person.h src/access/*.h)
    libs+=(-licuuc)  # names folded for search
    seeds=(fuzz/corpus/json) ;;
  hsds)
    sources=(src/directory/hsds.cc src/registry/csv.cc)
    headers=(src/directory/hsds.h src/registry/csv.h)
    seeds=(fuzz/corpus/hsds third_party/hsds-3.0/examples) ;;
  config)
    sources=(src/core/config.cc src/core/log.cc src/core/clock.cc)
    headers=(src/core/config.h)
    seeds=(fuzz/corpus/config) ;;
  *) echo "fuzz: unknown target $target (rules, csv, json, hsds, config)" >&2; exit 2 ;;
esac
mkdir -p "$out/corpus-$target"
binary="$out/${target}_fuzzer"
stale=0
[ -x "$binary" ] || stale=1
for s in "fuzz/${target}_fuzzer.cc" "${sources[@]}" "${core[@]}" "${headers[@]}" src/core/*.h; do
  [ "$s" -nt "$binary" ] && stale=1
done
if ((stale)); then
  echo "fuzz: building $binary"
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DONEDOOR_DEFAULT_WEB_ROOT='"web"' -DONEDOOR_DEFAULT_NODE_MODULES='"node_modules"' \
    -DONEDOOR_DEFAULT_RULES_DIRS='"rules"' -DONEDOOR_DEFAULT_DATA_CATEGORIES='"config/data-categories.yaml"' \
    -DONEDOOR_DEFAULT_INTAKE_RULES='"config/intake.yaml"' -DONEDOOR_DEFAULT_DIRECTORY_SYNONYMS='"config/synonyms.yaml"' \
    -DONEDOOR_DEFAULT_LIFE_EVENTS='"config/life-events.yaml"' \
    -DONEDOOR_DEFAULT_PASSWORD_BLOCKLIST='"config/breached-passwords.txt"' \
    -Isrc "fuzz/${target}_fuzzer.cc" "${sources[@]}" "${core[@]}" -o "$binary" "${libs[@]}"
fi
existing=()
for s in "${seeds[@]}"; do [ -e "$s" ] && existing+=("$s"); done
# New inputs are written to the first folder only.
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/${target}-" "$out/corpus-$target" "${existing[@]}"
