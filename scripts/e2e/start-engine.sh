#!/usr/bin/env bash
# Starts two Docker Engines side by side, each with its embedded BuildKit:
#   classic:    the default overlay2 graphdriver store (no merge/diff ops), /var/run/docker.sock
#   containerd: the containerd image store (merge/diff available), /var/run/docker-containerd.sock
# Idempotent: a daemon that already answers is left alone.
set -euo pipefail
logdir=${E2E_LOG_DIR:-/var/log/conda-frontend}
mkdir -p "$logdir"

wait_for() { # socket name
  for _ in $(seq 1 120); do
    if docker -H "unix://$1" info >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "start-engine: $2 daemon did not answer on $1; its log:" >&2
  tail -n 40 "$logdir/dockerd-$2.log" >&2 || true
  exit 1
}

start() { # name socket data-root exec-root config extra-args...
  local name=$1 sock=$2 data=$3 exec=$4 config=$5; shift 5
  if docker -H "unix://$sock" info >/dev/null 2>&1; then
    echo "engine $name: already running on $sock"; return 0
  fi
  mkdir -p "$data" "$exec" "$(dirname "$config")"
  nohup dockerd --host "unix://$sock" --data-root "$data" --exec-root "$exec" \
    --pidfile "$exec/dockerd.pid" --config-file "$config" "$@" \
    >"$logdir/dockerd-$name.log" 2>&1 &
  wait_for "$sock" "$name"
  echo "engine $name: $(docker -H "unix://$sock" version --format '{{.Server.Version}}') on $sock"
}

mkdir -p /etc/conda-frontend
echo '{}' >/etc/conda-frontend/daemon-classic.json
echo '{"features": {"containerd-snapshotter": true}}' >/etc/conda-frontend/daemon-containerd.json

start classic /var/run/docker.sock /var/lib/docker /var/run/docker /etc/conda-frontend/daemon-classic.json
# The second engine shares the machine: a bridge of its own (docker1; --bridge=none would make
# it delete docker0 from under the first engine) and no iptables rules, so the two never fight
# over the NAT chains. Its containers reach the host and each other, not the internet; the tests
# that need a network use --network=host.
if ! ip link show docker1 >/dev/null 2>&1; then
  ip link add name docker1 type bridge
  ip addr add 172.29.0.1/16 dev docker1
  ip link set docker1 up
fi
start containerd /var/run/docker-containerd.sock /var/lib/docker-containerd /var/run/docker-containerd \
  /etc/conda-frontend/daemon-containerd.json --bridge=docker1 --iptables=false --ip-masq=false
