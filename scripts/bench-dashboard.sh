#!/usr/bin/env bash
# The dashboard's budgets: initial JavaScript gzipped and the overview's render time with a big project
# (benchmarks/dashboard.ts).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node benchmarks/dashboard.ts "$@"
