#!/usr/bin/env bash
# Installs what onedoor needs to build, run and test on Debian 12: apt packages (only those
# missing), Node.js 22 where the machine's is too old, the npm packages of package-lock.json, and
# the compiled stylesheet.
# Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libsqlite3-dev sqlite3 postgresql libpq-dev libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libsodium-dev
  librestinio-dev libasio-dev libfmt-dev libhttp-parser-dev libkainjow-mustache-dev
  libgtest-dev libgmock-dev libbenchmark-dev libicu-dev libxlsxwriter-dev libgoogle-perftools-dev time
  chromium wrk curl ca-certificates nginx libcurl4-openssl-dev libssl-dev clang
  zlib1g-dev # xlsxwriter's pkg-config file links -lz, and libxlsxwriter-dev does not bring it
  libclang-rt-14-dev # the fuzzers: libFuzzer and the sanitizers' runtimes for clang
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "onedoor: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js 20.19 or later (the stylesheet compiler and the browser driver need it). Debian 12 has 18:
# then Node.js 22 comes from the npm registry into tools/node, which the Makefile puts first on PATH.
node_recent() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    2>/dev/null
}
if ! node_recent; then
  if [ ! -x tools/node/bin/node ] ||
    [ tools/node/package-lock.json -nt tools/node/node_modules/.package-lock.json ]; then
    echo "onedoor: installing Node.js 22 from the npm registry (this machine has Node.js $(node --version 2>/dev/null))"
    npm ci --prefix tools/node --no-audit --no-fund --loglevel=error
    # One package per processor; npm skips the others (they are optional dependencies).
    found=$(find tools/node/node_modules -path '*/node-linux-*/bin/node' -type f | head -1)
    [ -n "$found" ] || { echo "onedoor: the npm registry has no Node.js 22 package for $(uname -m)" >&2; exit 1; }
    mkdir -p tools/node/bin
    ln -sf "../${found#tools/node/}" tools/node/bin/node
  fi
  export PATH="$PWD/tools/node/bin:$PATH"
  node_recent || { echo "onedoor: Node.js 20.19 or later is needed, and tools/node did not provide it" >&2; exit 1; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "onedoor: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -f web/static/onedoor.css ] || [ -n "$(find web/scss -newer web/static/onedoor.css -print -quit)" ]; then
  echo "onedoor: building the stylesheet"
  npx --no-install sass --no-source-map --load-path=. --load-path=node_modules --style=compressed --quiet-deps \
    web/scss/onedoor.scss web/static/onedoor.css
fi
