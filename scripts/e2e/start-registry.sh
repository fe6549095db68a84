#!/usr/bin/env bash
# Starts a plain-HTTP registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:5000
# with our own config: no auth, storage in a folder of ours. Idempotent: checks that whatever
# answers on the port really is a registry before reusing it.
set -euo pipefail
logdir=${E2E_LOG_DIR:-/var/log/conda-frontend}
store=${E2E_REGISTRY_DIR:-/var/lib/conda-frontend-registry}
mkdir -p "$logdir" "$store"

is_registry() { curl -fsS -m 2 -D - -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null | grep -qi '^docker-distribution-api-version: registry/2.0'; }

if is_registry; then echo "registry: already running on 127.0.0.1:5000"; exit 0; fi
if curl -s -m 2 -o /dev/null http://127.0.0.1:5000/ 2>/dev/null; then
  echo "registry: something that is not a registry answers on 127.0.0.1:5000; stop it first" >&2
  exit 1
fi
cat >/etc/conda-frontend/registry.yml <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $store
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
CONF
nohup docker-registry serve /etc/conda-frontend/registry.yml >"$logdir/registry.log" 2>&1 &
for _ in $(seq 1 60); do is_registry && { echo "registry: started on 127.0.0.1:5000"; exit 0; }; sleep 0.25; done
echo "registry: did not start; its log:" >&2; tail -n 20 "$logdir/registry.log" >&2; exit 1
