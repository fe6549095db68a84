#!/usr/bin/env bash
# Installs Docker Engine 28.5 (BuildKit of the v0.25 line), its containerd 2.1 and buildx 0.29 from
# Debian sid into a folder of their own (default /opt/conda-frontend/docker-28), beside the
# 26.1.5 packages install-engine.sh installs: both cannot be installed as packages at once, so
# sid's .debs are only extracted (dpkg-deb -x), with a private apt state like install-engine.sh's.
# sid's runc needs a newer glibc than bookworm's, so it is left out: the daemon uses the runc that
# came with 26.1.5 (bookworm's). Idempotent. Prints the folder.
set -euo pipefail
want="28.5"
dest=${E2E_ENGINE28_DIR:-/opt/conda-frontend/docker-28}
if [ -x "$dest/usr/sbin/dockerd" ] && "$dest/usr/sbin/dockerd" --version 2>/dev/null | grep -q "version $want" \
   && [ -x "$dest/usr/libexec/docker/cli-plugins/docker-buildx" ]; then
  echo "$dest"; exit 0
fi
command -v runc >/dev/null || { echo "install-engine-28: no runc on PATH; run install-engine.sh first" >&2; exit 1; }

. "$(dirname "$0")/apt-private.sh"
# tini-static is docker-init; the rest run on bookworm's glibc.
apt_download /var/cache/conda-frontend-apt-sid sid docker.io docker-cli docker-buildx containerd tini-static
tmp="$dest.new"
rm -rf "$tmp"; mkdir -p "$tmp"
for deb in ./*.deb; do dpkg-deb -x "$deb" "$tmp"; done
"$tmp/usr/sbin/dockerd" --version | grep -q "version $want" || { echo "install-engine-28: sid no longer has docker.io $want: $("$tmp/usr/sbin/dockerd" --version)" >&2; exit 1; }
rm -rf "$dest"; mv "$tmp" "$dest"
echo "engine 28: $("$dest/usr/sbin/dockerd" --version), $("$dest/usr/bin/containerd" --version | cut -d' ' -f2-3), buildx $("$dest/usr/libexec/docker/cli-plugins/docker-buildx" version | cut -d' ' -f2)" >&2
echo "$dest"
