#!/usr/bin/env bash
# Runs the end-to-end tests: ./run.sh [test files...]   (default: every file in tests/)
# As root with a working `unshare`, server and browser run in a loopback-only network namespace, so that
# Chromium gathers no candidate but 127.0.0.1 (see /work/shared/CLIENTS.md). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -d node_modules ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi

if [ "$#" -eq 0 ]; then
  set -- tests/
fi
mkdir -p logs

if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  echo "run.sh: running in a loopback-only network namespace" >&2
  export E2E_NETNS=1 # tests may change firewall rules: only inside this namespace
  exec unshare -n bash -c 'ip link set lo up && exec node --test --test-concurrency=1 "$@"' run-e2e "$@"
else
  echo "run.sh: no network namespace (not root or unshare refused); running directly" >&2
  exec node --test --test-concurrency=1 "$@"
fi
