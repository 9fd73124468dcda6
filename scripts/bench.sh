#!/usr/bin/env bash
# EventFlow's benchmark: boots a throw-away stack (or attaches to the one named by BENCH_API_URL,
# BENCH_ADMIN_KEY, DATABASE_URL and TEMPORAL_ADDRESS), drives it over HTTP from a separate process and
# prints a JSON report, also written to bench-results/. `./scripts/bench.sh --help` lists the options;
# `--quick` is a ~3-minute smoke run. Results and how to read them: benchmarks/README.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node benchmarks/run.ts "$@"
