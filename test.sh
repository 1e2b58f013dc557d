#!/usr/bin/env bash
# Runs every test: the Maven build (unit, property and integration tests on real sockets,
# Netty's leak detector at paranoid), smoke runs of the JMH benchmarks and the load tool, and the
# browser end-to-end tests in headless Chromium against the packaged node.
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/ensure-test-deps.sh
mvn -B -ntp verify "$@"

# Smoke runs of the measuring tools, seconds each, so they keep working (full runs: BENCHMARKS.md).
java -jar sfu-bench/target/sfu-bench.jar RtpBenchmark.validate -f 1 -wi 1 -i 1 -w 1s -r 1s
bash scripts/load-smoke.sh
# Two real nodes: a webinar whose receivers are all on the far node; each packet crosses the relay link once.
SMOKE=1 bash scripts/hop-bench.sh
# The Docker image and the compose cluster, for real where a Docker engine can run (skipped with the reason
# where it cannot); the compose files are validated either way.
[ "${SKIP_DOCKER:-0}" = 1 ] || bash scripts/docker-smoke.sh

if [ "${SKIP_E2E:-0}" = "1" ]; then
  echo "test.sh: SKIP_E2E=1, browser tests skipped"
  exit 0
fi
# Every browser test on one media worker, then again on two workers with each room's members spread over
# both, so that every stream crosses a pipe (but the join form, TURN, node choice, and the three-node cascade tests,
# which do not depend on workers).
export E2E_RETRY=${E2E_RETRY:-1} # a failed browser test file runs once more, alone; passing then is reported FLAKY
E2E_MEDIA_WORKERS=1 bash e2e/run.sh
mapfile -t spread < <(cd e2e && ls tests/*.test.mjs | grep -v -e join-form -e turn -e node-choice -e partition -e transit -e routing -e pass-through -e udp-blocked)
E2E_MEDIA_WORKERS=2 E2E_SPREAD=true bash e2e/run.sh "${spread[@]}"
