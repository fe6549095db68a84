#!/usr/bin/env bash
# Runs the example end to end on a fresh machine: sets up Docker + BuildKit, the registry and the
# frontend image (scripts/e2e/setup.sh), builds examples/hello/environment.yml and runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/e2e/setup.sh"
cd "$root/examples/hello"
# --network=host: the solve step reaches the fixture channel on this machine's loopback.
echo "== docker buildx build --network=host -f environment.yml -t conda-frontend-hello --load ."
docker buildx build --network=host -f environment.yml -t conda-frontend-hello --load .
echo "== docker run --rm conda-frontend-hello"
docker run --rm conda-frontend-hello
