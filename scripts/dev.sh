#!/usr/bin/env bash
# Runs EventFlow locally: Postgres, Temporal, Jaeger (if built) and a mail catcher, then the API and the
# worker. State is kept in .data/; Ctrl-C stops everything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node src/dev/stack.ts "$@"
