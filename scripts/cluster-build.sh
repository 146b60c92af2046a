#!/usr/bin/env bash
# Builds the real control-plane binaries from source into a cache outside the repository, keyed by version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-hooks/<component>-<version>/bin/...
# Idempotent: a component whose binaries are already there is not rebuilt, so a warm run costs seconds.
# Prints one line per component and finally the bin directories as KEY=path lines (read by scripts/cluster/*).
# Usage: scripts/cluster-build.sh [kubernetes|metacontroller|dittofs|etcd ...]   (default: all)
set -euo pipefail

K8S_VERSION="v1.36.3"           # k8s.io/kubernetes; its staging modules are published as v0.36.3
K8S_STAGING_VERSION="v0.36.3"
METACONTROLLER_VERSION="v4.17.2"
DITTOFS_VERSION="v0.29.0"
ETCD_VERSION="v3.6.8"              # go.etcd.io/etcd/server/v3, the version Kubernetes v1.36.3 requires

REPO="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-hooks"
# The snapshot beside the checkout: ../shared (a clone) or ../../shared (a worktree under wt/).
METACONTROLLER_SRC="${METACONTROLLER_SRC:-$REPO/../shared/third_party/metacontroller-$METACONTROLLER_VERSION}"
[ -d "$METACONTROLLER_SRC" ] || METACONTROLLER_SRC="$REPO/../../shared/third_party/metacontroller-$METACONTROLLER_VERSION"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -trimpath"
NICE=(nice -n 10)

log() { printf '[cluster-build] %s\n' "$*" >&2; }
need_go() { command -v go >/dev/null || { log "go not found on PATH (Go >= 1.26.4 is needed)"; exit 3; }; }
have_all() { local dir="$1"; shift; for b in "$@"; do [ -x "$dir/$b" ] || return 1; done; }
# Each build writes into a scratch folder next to its final one and renames it at the end, so an interrupted
# build never leaves a half-written binary that a later run would take for a finished one.
publish() { local scratch="$1" final="$2"; rm -rf "$final"; mv "$scratch" "$final"; }

# Builds Go commands through a wrapper module into a cache folder: the wrapper's go.mod comes on stdin, a
# tools.go imports every package (so `go mod tidy`, which reads build-tagged files too, resolves them all), and
# each <binary>=<package> is built into a scratch folder published at the end.
# Usage: build_wrapped <label> <bin dir> <ldflags> <binary>=<package>... <go.mod
build_wrapped() {
  local label="$1" dir="$2" ldflags="$3"; shift 3
  local work="${dir%/bin}/wrapper"
  mkdir -p "$work"
  cat >"$work/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for pair in "$@"; do printf '\t_ "%s"\n' "${pair#*=}"; done
    printf ')\n'
  } >"$work/tools.go"
  (cd "$work" && "${NICE[@]}" go mod tidy)
  local scratch="$dir.partial"
  rm -rf "$scratch"; mkdir -p "$scratch"
  for pair in "$@"; do
    log "$label: building ${pair%%=*}"
    (cd "$work" && "${NICE[@]}" go build -ldflags "$ldflags" -o "$scratch/${pair%%=*}" "${pair#*=}")
  done
  publish "$scratch" "$dir"
  log "$label: built"
}

build_kubernetes() {
  local dir="$CACHE/kubernetes-$K8S_VERSION/bin"
  if have_all "$dir" kube-apiserver kube-controller-manager; then log "kubernetes $K8S_VERSION: cached"; return; fi
  need_go
  # k8s.io/kubernetes replaces its staging modules with ./staging paths, which `go install mod@version` refuses:
  # a wrapper module requires it and pins every staging module to the published v0.Y.Z instead.
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  ldflags="$ldflags -X $pkg.buildDate=1970-01-01T00:00:00Z"
  {
    printf 'module dittofs-hooks.local/kubernetes-wrapper\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$K8S_STAGING_VERSION"'#p' "$gomod"
    printf ')\n'
  } | build_wrapped "kubernetes $K8S_VERSION" "$dir" "$ldflags" \
    kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
}

build_metacontroller() {
  local dir="$CACHE/metacontroller-$METACONTROLLER_VERSION/bin"
  if have_all "$dir" metacontroller; then log "metacontroller $METACONTROLLER_VERSION: cached"; return; fi
  need_go
  [ -d "$METACONTROLLER_SRC/pkg" ] || { log "metacontroller source not found at $METACONTROLLER_SRC"; exit 3; }
  # Built from a writable copy: the snapshot is read-only and `go build` may need to write go.sum.
  local src="$CACHE/metacontroller-$METACONTROLLER_VERSION/src"
  rm -rf "$src"; mkdir -p "$src"
  cp -R "$METACONTROLLER_SRC/." "$src/"
  chmod -R u+w "$src"
  local scratch="$dir.partial"
  rm -rf "$scratch"; mkdir -p "$scratch"
  log "metacontroller $METACONTROLLER_VERSION: building"
  (cd "$src" && "${NICE[@]}" go build -ldflags "-s -w" -o "$scratch/metacontroller" ./pkg/cmd/metacontroller)
  publish "$scratch" "$dir"
  log "metacontroller $METACONTROLLER_VERSION: built"
}

# A wrapper module rather than `go install mod@version`: go install asks the proxy for the module's version list
# (deprecation check), which this proxy refuses for DittoFS; a pinned require does not.
build_dittofs() {
  local dir="$CACHE/dittofs-$DITTOFS_VERSION/bin"
  if have_all "$dir" dfs dfsctl; then log "dittofs $DITTOFS_VERSION: cached"; return; fi
  need_go
  printf 'module dittofs-hooks.local/dittofs-wrapper\n\ngo 1.26\n\nrequire github.com/marmos91/dittofs %s\n' "$DITTOFS_VERSION" |
    build_wrapped "dittofs $DITTOFS_VERSION" "$dir" "-s -w" \
      dfs=github.com/marmos91/dittofs/cmd/dfs dfsctl=github.com/marmos91/dittofs/cmd/dfsctl
}

# etcd from the Go module proxy at the version Kubernetes itself is built against (its go.mod has replace
# directives too, so the same wrapper trick applies). No root, no distribution package.
build_etcd() {
  local dir="$CACHE/etcd-$ETCD_VERSION/bin"
  if have_all "$dir" etcd; then log "etcd $ETCD_VERSION: cached"; return; fi
  need_go
  printf 'module dittofs-hooks.local/etcd-wrapper\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" |
    build_wrapped "etcd $ETCD_VERSION" "$dir" "-s -w" etcd=go.etcd.io/etcd/server/v3
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(etcd dittofs metacontroller kubernetes)
for c in "${components[@]}"; do
  case "$c" in
    kubernetes) build_kubernetes ;;
    metacontroller) build_metacontroller ;;
    dittofs) build_dittofs ;;
    etcd) build_etcd ;;
    *) log "unknown component: $c"; exit 2 ;;
  esac
done
echo "KUBERNETES_BIN=$CACHE/kubernetes-$K8S_VERSION/bin"
echo "METACONTROLLER_BIN=$CACHE/metacontroller-$METACONTROLLER_VERSION/bin"
echo "DITTOFS_BIN=$CACHE/dittofs-$DITTOFS_VERSION/bin"
echo "ETCD_BIN=$CACHE/etcd-$ETCD_VERSION/bin"
