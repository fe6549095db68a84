#!/usr/bin/env bash
# Builds the fixture conda channel (test/fixtures/channel/build.ts; a no-op when up to date) and
# serves it on http://127.0.0.1:8765/ (test/fixtures/channel/serve.ts, in the background, log in
# /var/log/conda-frontend/channel.log). Idempotent: reuses a server whose /health answers
# `conda-fixture-channel`; fails if anything else holds the port.
# Environment: E2E_CHANNEL_PORT (8765), E2E_CHANNEL_DIR (<repo>/.e2e/channel), E2E_LOG_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH="$(bash scripts/setup-node.sh):$PATH"
port=${E2E_CHANNEL_PORT:-8765}
dir=${E2E_CHANNEL_DIR:-$root/.e2e/channel}
logdir=${E2E_LOG_DIR:-/var/log/conda-frontend}
mkdir -p "$logdir"

# linux-aarch64's libgreet/greet are cross-compiled
bash scripts/e2e/install-cross.sh
npx --no-install tsx test/fixtures/channel/build.ts "$dir" 2>&1 | grep -v -e 'nodedir' || true
[ -f "$dir/linux-64/repodata.json" ] || { echo "channel: the build did not produce $dir/linux-64/repodata.json" >&2; exit 1; }

is_channel() { [ "$(curl -fsS -m 2 "http://127.0.0.1:$port/health" 2>/dev/null)" = "conda-fixture-channel" ]; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# The same channel again, private: it answers only with the test token (e2e of private channels).
private_port=${E2E_PRIVATE_CHANNEL_PORT:-8769}

# A server another checkout started (a clone CI made, its folder maybe deleted since) answers
# /health all the same: stop it, so that the server on the port serves this checkout's channel.
stop_other_checkouts() { # port
  local pid served here
  here=$(realpath -m "$dir")
  for pid in $(pgrep -f "channel/serve.ts .* $1\$" || true); do
    served=$(tr '\0' '\n' <"/proc/$pid/cmdline" | tail -n 2 | head -n 1)
    [ "$(cd "/proc/$pid/cwd" 2>/dev/null && realpath -m "$served")" = "$here" ] && continue
    echo "channel: stopping the server on port $1 that serves $served (another checkout's)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  done
}
stop_other_checkouts "$port"
stop_other_checkouts "$private_port"

if [ "$(curl -fsS -m 2 "http://127.0.0.1:$private_port/health" 2>/dev/null)" != "conda-fixture-channel" ]; then
  CHANNEL_REQUIRE_HEADER="Authorization: Bearer conda-frontend-test-token" \
    nohup node --import tsx test/fixtures/channel/serve.ts "$dir" "$private_port" >>"$logdir/channel-private.log" 2>&1 &
  for _ in $(seq 1 80); do
    [ "$(curl -fsS -m 2 "http://127.0.0.1:$private_port/health" 2>/dev/null)" = "conda-fixture-channel" ] && break
    sleep 0.25
  done
  echo "channel: private copy on http://127.0.0.1:$private_port/ (token: conda-frontend-test-token)"
fi

if is_channel; then echo "channel: already serving on http://127.0.0.1:$port/"; exit 0; fi
if port_taken; then
  echo "channel: something that is not the fixture channel holds 127.0.0.1:$port; stop it or set E2E_CHANNEL_PORT" >&2
  exit 1
fi
nohup node --import tsx test/fixtures/channel/serve.ts "$dir" "$port" >>"$logdir/channel.log" 2>&1 &
echo $! >"$logdir/channel.pid"
for _ in $(seq 1 80); do
  if is_channel; then echo "channel: started on http://127.0.0.1:$port/ (pid $(cat "$logdir/channel.pid"))"; exit 0; fi
  sleep 0.25
done
echo "channel: did not start; its log:" >&2
tail -n 20 "$logdir/channel.log" >&2
exit 1
