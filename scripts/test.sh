#!/usr/bin/env bash
# The test command: type check, unit tests, then end-to-end tests against real Docker Engines
# with BuildKit, a real registry and the frontend image built from this tree. Installs and
# starts whatever is missing (see scripts/e2e/setup.sh). Run it as root on a Debian machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(bash scripts/setup-node.sh):$PATH"
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
echo "== type check"
npx --no-install tsc --noEmit -p .
echo "== unit tests"
npx --no-install vitest run --project unit
bash scripts/e2e/setup.sh
echo "== end-to-end tests"
npx --no-install vitest run --project e2e
