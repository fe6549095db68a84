#!/usr/bin/env bash
# Installs Docker Engine 26.1.5 (embedded BuildKit v0.13), docker-buildx, containerd and
# docker-registry from Debian trixie, without touching the system's own apt state.
# Idempotent: does nothing when the wanted engine is already installed.
set -euo pipefail

want_engine="26.1.5"
if command -v dockerd >/dev/null 2>&1 && dockerd --version 2>/dev/null | grep -q "$want_engine" \
   && command -v docker-registry >/dev/null 2>&1 \
   && { [ -x /usr/libexec/docker/cli-plugins/docker-buildx ] || [ -x /usr/lib/docker/cli-plugins/docker-buildx ]; }; then
  echo "engine: Docker $want_engine, buildx and docker-registry already installed"
  exit 0
fi

. "$(dirname "$0")/apt-private.sh"
apt_download /var/cache/conda-frontend-apt trixie docker.io docker-cli docker-buildx containerd docker-registry
echo "engine: installing $(ls ./*.deb | tr '\n' ' ')"
# runc, tini, iptables and the rest come from the machine's own (bookworm) sources.
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ./*.deb >/dev/null
# The packaged services are not used: our scripts start dockerd and the registry themselves.
systemctl disable --now docker-registry >/dev/null 2>&1 || true
dockerd --version
