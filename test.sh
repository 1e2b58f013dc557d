#!/usr/bin/env bash
# Runs every test: the Maven build (unit, property and integration tests on real sockets,
# Netty's leak detector at paranoid) and then the browser end-to-end tests in headless Chromium
# against the packaged node.
set -euo pipefail
cd "$(dirname "$0")"

mvn -B -ntp verify "$@"

if [ "${SKIP_E2E:-0}" = "1" ]; then
  echo "test.sh: SKIP_E2E=1, browser tests skipped"
  exit 0
fi
bash e2e/run.sh
