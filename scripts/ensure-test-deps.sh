#!/usr/bin/env bash
# Installs what the tests need when it is missing: a JDK and Maven for the build, redis-server for
# the fleet registry tests (each starts its own on a free loopback port), Node.js for the
# end-to-end harness, Debian's Chromium for the browser tests. Needs root (apt-get) only when
# something is missing.
set -euo pipefail

need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v node >/dev/null || need+=(nodejs npm)
command -v python3 >/dev/null || need+=(python3)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || need+=(redis-server)
[ "${SKIP_E2E:-0}" = 1 ] || [ -x /usr/lib/chromium/chromium ] || need+=(chromium)
[ "${SKIP_E2E:-0}" = 1 ] || command -v nft >/dev/null || need+=(nftables) # loss in the e2e namespace
[ "${SKIP_E2E:-0}" = 1 ] || command -v tc >/dev/null || need+=(iproute2) # rate limits in the e2e namespace
[ "${SKIP_E2E:-0}" = 1 ] || command -v turnserver >/dev/null || need+=(coturn) # the TURN e2e test
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${need[*]} (install them, e.g. sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
