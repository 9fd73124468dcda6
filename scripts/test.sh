#!/usr/bin/env bash
# Runs the test suite against throw-away Postgres and Temporal servers. Arguments replace the default
# file list, e.g. ./scripts/test.sh test/dev/smtp-catcher.test.ts
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
exec node test/run.ts "$@"
