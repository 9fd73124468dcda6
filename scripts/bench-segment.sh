#!/usr/bin/env bash
# Segment's API (through @segment/analytics-node) against the native API, same events, same stack:
# benchmarks/segment.ts.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node benchmarks/segment.ts "$@"
