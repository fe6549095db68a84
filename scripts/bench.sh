#!/usr/bin/env bash
# `npm run bench`: sets up what the benchmarks need, runs them, writes docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$(bash scripts/setup-node.sh):$PATH"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/e2e/setup.sh
node scripts/bundle.mjs   # the solver benchmark runs the bundled CLI, as the build step does
npx --no-install tsx bench/run.ts
