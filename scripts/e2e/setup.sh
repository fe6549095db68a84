#!/usr/bin/env bash
# Brings up everything the end-to-end tests and the example need, from nothing, idempotently:
# Docker Engine 26.1.5 x2 (classic store + containerd store), a local registry, the fixture channel
# (with Debian's aarch64 cross compiler, scripts/e2e/install-cross.sh), qemu-aarch64-static in
# .tools/qemu (extracted, not installed: no binfmt handler), the base images and the frontend
# image. Prints nothing but progress; the frontend image is localhost:5000/conda-frontend:test.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH="$(bash scripts/setup-node.sh):$PATH"
# The fixture channel and the base images are made by our own TypeScript tools (tsx): the npm
# dependencies come first, on a fresh clone too.
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

step() { echo "== $*"; }
step "Docker Engine"
bash scripts/e2e/install-engine.sh
bash scripts/e2e/start-engine.sh
step "registry"
bash scripts/e2e/start-registry.sh
step "fixture conda channel (from real binaries on this machine)"
bash scripts/e2e/start-channel.sh
step "qemu-aarch64-static in .tools/qemu (arm64 test runs, without binfmt_misc)"
bash scripts/e2e/setup-qemu.sh >/dev/null
step "base images (from Debian packages)"
npx --no-install tsx scripts/e2e/base-images.ts 2>&1 | grep -v -e 'unsandboxed' -e 'nodedir' || true
step "frontend image"
secret=()
# Behind a TLS-intercepting proxy, npm inside the build needs the machine's CA bundle.
[ -f /etc/ssl/certs/ca-certificates.crt ] && secret=(--secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt)
image=${E2E_FRONTEND_IMAGE:-localhost:5000/conda-frontend:test}
docker buildx build --quiet -f frontend.Dockerfile "${secret[@]}" \
  --build-arg BUILDER_IMAGE=localhost:5000/node:24-builder \
  --build-arg RUNTIME_IMAGE=localhost:5000/distroless/nodejs24-debian12 \
  -t "$image" --push . >/dev/null
echo "frontend image: $image"
