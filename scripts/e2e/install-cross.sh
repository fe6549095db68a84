#!/usr/bin/env bash
# Installs Debian's aarch64 cross compiler (gcc-aarch64-linux-gnu + libc6-dev-arm64-cross), which
# the fixture channel's linux-aarch64 libgreet/greet are built with. Idempotent: nothing to do when
# aarch64-linux-gnu-gcc is there. (A compiler only: it runs nothing of arm64.)
set -euo pipefail
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ -f /usr/aarch64-linux-gnu/include/stdio.h ]; then exit 0; fi
echo "cross: installing gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
aarch64-linux-gnu-gcc --version | head -1 >&2
