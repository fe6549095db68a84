#!/usr/bin/env bash
# The test command: type check, unit tests, then end-to-end tests against real Docker Engines
# with BuildKit, a real registry and the frontend image built from this tree. Installs and
# starts whatever is missing (see scripts/e2e/setup.sh). Run it as root on a Debian machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(bash scripts/setup-node.sh):$PATH"
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
# The tests' temporary folders (projects, downloads, clones of the fixture channel) go in one
# folder of this run, removed when it ends: left in /tmp they filled the disk over many runs.
tests_tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-tests-XXXXXX")
trap 'rm -rf "$tests_tmp"' EXIT
echo "== type check"
npx --no-install tsc --noEmit -p .
echo "== unit tests"
TMPDIR="$tests_tmp" npx --no-install vitest run --project unit
bash scripts/e2e/setup.sh
echo "== end-to-end tests"
TMPDIR="$tests_tmp" npx --no-install vitest run --project e2e
