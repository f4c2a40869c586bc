#!/usr/bin/env bash
# Installs what onedoor needs to build, run and test on Debian 12: apt packages (only those
# missing), the npm packages of package-lock.json, and the compiled stylesheet.
# Safe to run again: it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libsqlite3-dev sqlite3 postgresql libpq-dev libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libsodium-dev
  librestinio-dev libasio-dev libfmt-dev libhttp-parser-dev libkainjow-mustache-dev
  libgtest-dev libgmock-dev libbenchmark-dev libicu-dev libxlsxwriter-dev libgoogle-perftools-dev time
  chromium wrk curl ca-certificates nginx libcurl4-openssl-dev libssl-dev clang
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

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "onedoor: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -f web/static/onedoor.css ] || [ -n "$(find web/scss -newer web/static/onedoor.css -print -quit)" ]; then
  echo "onedoor: building the stylesheet"
  npx --no-install sass --no-source-map --load-path=. --load-path=node_modules --style=compressed --quiet-deps \
    web/scss/onedoor.scss web/static/onedoor.css
fi
