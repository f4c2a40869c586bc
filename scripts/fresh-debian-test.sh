#!/usr/bin/env bash
# Checks that the quick start works on a machine with nothing installed: makes a bare Debian 12
# (debootstrap) in DIR, clones this repository's HEAD into it, installs git and make (the two
# tools the quick start begins from) and runs `make test` there, as the README says.
#   sudo scripts/fresh-debian-test.sh [DIR] [make target]   (default /var/tmp/onedoor-fresh, test)
# The first run takes about 25 minutes on 2 cores; a second reuses DIR (git pull, then make).
# Of this machine, only its local CA certificates and /etc/npmrc are copied in, for a proxy it trusts.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-/var/tmp/onedoor-fresh}
target=${2:-test}
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-test: run as root (debootstrap and chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "fresh-debian-test: making a Debian 12 system in $root"
  debootstrap bookworm "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 ||
    { tail "$root.debootstrap.log" >&2; exit 1; }
fi
mounted=()
cleanup() { for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc sys dev dev/pts; do
  mountpoint -q "$root/$m" || { mount --bind "/$m" "$root/$m"; mounted+=("$root/$m"); }
done
mountpoint -q "$root/dev/shm" || { mount -t tmpfs tmpfs "$root/dev/shm"; mounted+=("$root/dev/shm"); }
cp /etc/resolv.conf "$root/etc/"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  [ ! -f /etc/npmrc ] || cp /etc/npmrc "$root/etc/npmrc"
fi
mkdir -p "$root/src"
mountpoint -q "$root/src" || { mount --bind "$PWD" "$root/src"; mount -o remount,bind,ro "$root/src"; mounted+=("$root/src"); }

chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt TARGET="$target" bash -euo pipefail -c '
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v git >/dev/null || ! command -v make >/dev/null; then
      apt-get update -qq && apt-get install -y -qq git make ca-certificates >/dev/null
    fi
    ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1 && update-ca-certificates >/dev/null
    git config --global --add safe.directory /src
    if [ -d /root/onedoor ]; then git -C /root/onedoor pull -q; else git clone -q /src /root/onedoor; fi
    cd /root/onedoor
    echo "fresh-debian-test: make $TARGET at $(git log --oneline -1)"
    time make "$TARGET"'
