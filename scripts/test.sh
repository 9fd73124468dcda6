#!/usr/bin/env bash
# Runs the test suite against throw-away Postgres and Temporal servers. Arguments replace the default
# file list, e.g. ./scripts/test.sh test/dev/smtp-catcher.test.ts; without them, the type check and
# lint run first, so a renamed workflow or signal, a floating promise or a sandbox leak fails here.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$EVENTFLOW_ROOT"
if [ "$#" -eq 0 ]; then
  echo '[test] type check' >&2
  node node_modules/typescript/bin/tsc --noEmit
  echo '[test] lint' >&2
  node node_modules/eslint/bin/eslint.js --max-warnings=0 .
fi
exec node test/run.ts "$@"
