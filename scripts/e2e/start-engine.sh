#!/usr/bin/env bash
# Starts three Docker Engines side by side, each with its embedded BuildKit:
#   classic:    26.1.5, the default overlay2 graphdriver store (no merge/diff ops), /var/run/docker.sock
#   containerd: 26.1.5, the containerd image store (merge/diff available), /var/run/docker-containerd.sock
#   docker28:   28.5 from Debian sid (install-engine-28.sh), containerd image store, /var/run/docker-28.sock;
#               its CLI and buildx 0.29 with DOCKER_CONFIG=/etc/conda-frontend/docker-28-cli
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
  # ENGINE_PATH: where this daemon finds dockerd, containerd, the shim and runc.
  PATH="${ENGINE_PATH:-$PATH}" nohup dockerd --host "unix://$sock" --data-root "$data" --exec-root "$exec" \
    --pidfile "$exec/dockerd.pid" --config-file "$config" "$@" \
    >"$logdir/dockerd-$name.log" 2>&1 &
  wait_for "$sock" "$name"
  echo "engine $name: $(docker -H "unix://$sock" version --format '{{.Server.Version}}') on $sock"
}

# A bridge of an engine's own (--bridge=none would make it delete docker0 from under another).
bridge() { # name address/prefix
  ip link show "$1" >/dev/null 2>&1 && return 0
  ip link add name "$1" type bridge
  ip addr add "$2" dev "$1"
  ip link set "$1" up
}

mkdir -p /etc/conda-frontend
echo '{}' >/etc/conda-frontend/daemon-classic.json
echo '{"features": {"containerd-snapshotter": true}}' >/etc/conda-frontend/daemon-containerd.json

start classic /var/run/docker.sock /var/lib/docker /var/run/docker /etc/conda-frontend/daemon-classic.json
# The second engine shares the machine: a bridge of its own (docker1; --bridge=none would make
# it delete docker0 from under the first engine) and no iptables rules, so the two never fight
# over the NAT chains. Its containers reach the host and each other, not the internet; the tests
# that need a network use --network=host.
bridge docker1 172.29.0.1/16
start containerd /var/run/docker-containerd.sock /var/lib/docker-containerd /var/run/docker-containerd \
  /etc/conda-frontend/daemon-containerd.json --bridge=docker1 --iptables=false --ip-masq=false

# Docker 28.5 from sid: its own binaries first on the daemon's PATH (dockerd starts its own
# containerd 2.1 from there), then the system's for runc. A bridge of its own, like the second.
engine28=$(bash "$(dirname "$0")/install-engine-28.sh")
bridge docker2 172.30.0.1/16
mkdir -p /etc/conda-frontend/docker-28-cli/cli-plugins
ln -sf "$engine28/usr/libexec/docker/cli-plugins/docker-buildx" /etc/conda-frontend/docker-28-cli/cli-plugins/docker-buildx
[ -f /etc/conda-frontend/docker-28-cli/config.json ] || echo '{}' >/etc/conda-frontend/docker-28-cli/config.json
echo '{"features": {"containerd-snapshotter": true}}' >/etc/conda-frontend/daemon-28.json
ENGINE_PATH="$engine28/usr/bin:$engine28/usr/sbin:$PATH" \
  start docker28 /var/run/docker-28.sock /var/lib/docker-28 /var/run/docker-28 \
  /etc/conda-frontend/daemon-28.json --bridge=docker2 --iptables=false --ip-masq=false
