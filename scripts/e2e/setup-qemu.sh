#!/usr/bin/env bash
# Puts Debian's qemu-aarch64-static at .tools/qemu/bin/ (for test/e2e/foreign-run.ts, which runs
# arm64 programs of an image's root filesystem under it, in a chroot, without binfmt_misc).
# The qemu-user-static .deb is downloaded (apt-get download, private apt state) and extracted,
# never installed: installing it would register binfmt handlers, and then arm64 builds would
# silently run emulated. Idempotent. Prints the binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=$root/.tools/qemu
bin=$dest/bin/qemu-aarch64-static
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then echo "$bin"; exit 0; fi
. "$(dirname "$0")/apt-private.sh"
state=/var/cache/conda-frontend-apt-bookworm
(apt_download "$state" bookworm qemu-user-static) >&2
deb=$(ls "$state"/debs/qemu-user-static_*.deb)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/qemu-aarch64-static
mkdir -p "$dest/bin"
install -m 0755 "$tmp/usr/bin/qemu-aarch64-static" "$bin.partial"
mv "$bin.partial" "$bin"
echo "qemu: $(basename "$deb") -> $bin" >&2
"$bin" --version | head -1 >&2
echo "$bin"
