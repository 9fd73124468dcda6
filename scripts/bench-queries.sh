#!/usr/bin/env bash
# Read-side latency with a big project (GraphQL events and eventStats, REST stats): benchmarks/queries.ts.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node benchmarks/queries.ts "$@"
