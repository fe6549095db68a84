#!/usr/bin/env bash
# Runs an example end to end on a fresh machine: sets up Docker + BuildKit, the registry, the
# fixture channel and the frontend image (scripts/e2e/setup.sh), then builds and runs
#   webapp (default): examples/webapp, a web service; answers http://127.0.0.1:8000/
#   hello:            examples/hello, a program that prints and exits
# Usage: scripts/example.sh [webapp|hello]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-webapp}
case "$example" in webapp | hello) ;; *) echo "usage: $0 [webapp|hello]" >&2; exit 2 ;; esac
bash "$root/scripts/e2e/setup.sh"
cd "$root/examples/$example"
# --network=host: the solve and pip steps reach the fixture channel on this machine's loopback.
echo "== docker buildx build --network=host -f environment.yml -t conda-frontend-$example --load ."
docker buildx build --network=host -f environment.yml -t "conda-frontend-$example" --load .
if [ "$example" = hello ]; then
  echo "== docker run --rm conda-frontend-hello"
  docker run --rm conda-frontend-hello
  exit 0
fi
docker rm -f conda-frontend-webapp >/dev/null 2>&1 || true
echo "== docker run -d --name conda-frontend-webapp -p 127.0.0.1:8000:8000 conda-frontend-webapp"
docker run -d --name conda-frontend-webapp -p 127.0.0.1:8000:8000 conda-frontend-webapp >/dev/null
trap 'docker rm -f conda-frontend-webapp >/dev/null' EXIT
answer=""
for _ in $(seq 1 60); do
  if answer=$(curl -fsS http://127.0.0.1:8000/ 2>/dev/null); then break; fi
  sleep 0.5
done
[ -n "$answer" ] || { echo "example: http://127.0.0.1:8000/ never answered; the container's log:" >&2; docker logs conda-frontend-webapp >&2; exit 1; }
echo "$answer"
health=""
for _ in $(seq 1 30); do
  health=$(docker inspect --format '{{.State.Health.Status}}' conda-frontend-webapp)
  [ "$health" = healthy ] && break
  sleep 1
done
echo "== health: $health"
[ "$health" = healthy ] || { echo "example: the container did not turn healthy" >&2; exit 1; }
docker image ls conda-frontend-webapp
