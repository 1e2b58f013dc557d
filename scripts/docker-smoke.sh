#!/usr/bin/env bash
# Smoke test of the Docker packaging (docs/DOCKER.md), bounded in time (SMOKE_BUDGET_S, default 540 s).
#
#  1. Always: the compose files and the Grafana dashboard are valid (`docker compose config -q`, or the
#     older `docker-compose`; `promtool check config` when Prometheus' promtool is installed).
#  2. When a Docker engine runs here, or can be started (as root: Debian's docker.io, then
#     `dockerd --iptables=false --bridge=none`): builds a Debian 12 JRE base image from scratch (debootstrap
#     from this machine's Debian mirror, `docker import`; no image registry is reachable), builds the node
#     image with `--target prebuilt` from sfu-server/target/sfu-server.jar (built first if missing), and runs
#     it with host networking on loopback: /health answers 200, / serves the demo page, /metrics and the
#     development /token answer, the image's HEALTHCHECK turns healthy, the node runs as uid 10001, and the
#     image's default configuration refuses to start without a JWT key.
#  3. Then the three nodes of docker/compose.yaml on that image (compose tool needed): each healthy, each with
#     both peers' control channels up. Redis, Prometheus and Grafana are not started (their images would come
#     from a registry).
#
# Whatever cannot run here is skipped with the reason; a step of ours that fails makes the script fail.
# The last line reads "docker-smoke: N passed, N failed, N skipped".
#
# Environment: SMOKE_BUDGET_S; SMOKE_INSTALL=0 (do not apt-get install docker.io, docker-compose,
# debootstrap); SMOKE_REBUILD_BASE=1 (make the base images again); SMOKE_FULL_BUILD=1 (also build the
# default multi-stage target too, Maven inside the container on a copy of ~/.m2/repository: minutes);
# SMOKE_DIR (work files, default /tmp/sfu-docker-smoke).
set -uo pipefail
cd "$(dirname "$0")/.."

BUDGET_S=${SMOKE_BUDGET_S:-540}
START_S=$SECONDS
WORK=${SMOKE_DIR:-/tmp/sfu-docker-smoke}
IMAGE=cascade-sfu:smoke
DEBIAN_IMAGE=sfu-debian:local
JRE_IMAGE=sfu-jre:local
MAVEN_IMAGE=sfu-maven:local
CONTAINER=sfu-smoke-$$
PROJECT=sfu-smoke-$$
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} # the legacy builder takes local base images and --network host as is
mkdir -p "$WORK"

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "docker-smoke: PASS $*"; }
fail() { failed=$((failed + 1)); echo "docker-smoke: FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "docker-smoke: SKIP $*"; }
note() { echo "docker-smoke: $*"; }

# Seconds left in the budget, at least 1; a step's timeout is the smaller of its own and this.
left() { local l=$((BUDGET_S - (SECONDS - START_S))); [ "$l" -gt 0 ] && echo "$l" || echo 1; }
bounded() { local t=$1; shift; local l; l=$(left); [ "$t" -gt "$l" ] && t=$l; timeout "$t" "$@"; }
out_of_time() { [ $((SECONDS - START_S)) -ge "$BUDGET_S" ]; }

started_dockerd=""
compose=()
cleanup() {
  if [ -n "${docker_ok:-}" ]; then
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    if [ ${#compose[@]} -gt 0 ] && [ -n "${compose_up:-}" ]; then
      SFU_IMAGE=$IMAGE timeout 60 "${compose[@]}" -f docker/compose.yaml -p "$PROJECT" down -v -t 5 >/dev/null 2>&1 || true
    fi
  fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.25; done
  fi
}
trap cleanup EXIT

summary() {
  echo "docker-smoke: took $((SECONDS - START_S)) s (budget ${BUDGET_S} s)"
  echo "docker-smoke: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
  exit $?
}

# ------------------------------------------------------------------------------------------- tools
can_install() { [ "${SMOKE_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=""
apt_install() { # packages...
  can_install || return 1
  if [ -z "$apt_updated" ]; then
    bounded 120 apt-get update -qq >"$WORK/apt.log" 2>&1 || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive bounded 300 apt-get install -y -q --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1
}

has_compose_plugin() { command -v docker >/dev/null && docker compose version >/dev/null 2>&1; }
want=()
command -v dockerd >/dev/null || docker info >/dev/null 2>&1 || want+=(docker.io)
has_compose_plugin || command -v docker-compose >/dev/null || want+=(docker-compose)
command -v debootstrap >/dev/null || want+=(debootstrap)
if [ ${#want[@]} -gt 0 ]; then
  if can_install; then
    note "installing ${want[*]} (Debian packages)"
    apt_install "${want[@]}" || note "apt-get install ${want[*]} failed (see $WORK/apt.log); going on with what is there"
  else
    note "not installing ${want[*]} (SMOKE_INSTALL=0, not root, or no apt-get)"
  fi
fi

if has_compose_plugin; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
fi

# ------------------------------------------------------------------------------------------- 1. static checks
if [ ${#compose[@]} -eq 0 ]; then
  skip "compose validation: neither the docker compose plugin nor docker-compose is installed"
else
  note "compose tool: ${compose[*]} ($("${compose[@]}" version 2>/dev/null | head -1))"
  if msg=$(bounded 60 "${compose[@]}" -f docker/compose.yaml config -q 2>&1); then
    pass "docker/compose.yaml is valid"
  else
    fail "docker/compose.yaml: $msg"
  fi
  # A documentation address: the file requires SFU_ADVERTISE; only its syntax is checked here.
  if msg=$(SFU_ADVERTISE=203.0.113.10 bounded 60 "${compose[@]}" -f docker/compose.bridge.yaml config -q 2>&1); then
    pass "docker/compose.bridge.yaml is valid"
  else
    fail "docker/compose.bridge.yaml: $msg"
  fi
fi
if command -v python3 >/dev/null; then
  if msg=$(python3 -m json.tool docker/grafana/dashboards/sfu.json 2>&1 >/dev/null); then
    pass "docker/grafana/dashboards/sfu.json is JSON (its metrics: DashboardMetricsTest)"
  else
    fail "docker/grafana/dashboards/sfu.json: $msg"
  fi
fi
if command -v promtool >/dev/null; then
  ok=1
  for f in docker/prometheus/prometheus.yml docker/prometheus/prometheus.bridge.yml; do
    bounded 30 promtool check config "$f" >"$WORK/promtool.log" 2>&1 || { ok=""; fail "$f: $(tail -3 "$WORK/promtool.log")"; }
  done
  [ -n "$ok" ] && pass "prometheus configs pass promtool check config"
else
  note "promtool not installed: Prometheus configs not checked (apt-get install prometheus to check them)"
fi

# ------------------------------------------------------------------------------------------- 2. engine
docker_ok=""
engine_reason=""
if ! command -v docker >/dev/null; then
  engine_reason="no docker CLI"
elif docker info >/dev/null 2>&1; then
  docker_ok=1
  note "using the running Docker engine ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
elif ! command -v dockerd >/dev/null; then
  engine_reason="no engine runs and dockerd is not installed"
elif [ "$(id -u)" != 0 ]; then
  engine_reason="no engine runs and starting dockerd needs root"
else
  note "starting dockerd --iptables=false --bridge=none (log: $WORK/dockerd.log)"
  dockerd --iptables=false --ip6tables=false --bridge=none --pidfile "$WORK/dockerd.pid" >"$WORK/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { docker_ok=1; break; }
    kill -0 "$started_dockerd" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$docker_ok" ]; then
    engine_reason="dockerd did not come up within 30 s: $(tail -3 "$WORK/dockerd.log" | tr '\n' ' ')"
  else
    note "dockerd $(docker info --format '{{.ServerVersion}}' 2>/dev/null) up (storage $(docker info --format '{{.Driver}}' 2>/dev/null))"
  fi
fi
if [ -z "$docker_ok" ]; then
  skip "image build, run and compose cluster: $engine_reason"
  summary
fi

# ------------------------------------------------------------------------------------------- base images
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
debian_mirror() {
  local m=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  fi
  [ -z "$m" ] && [ -f /etc/apt/sources.list ] && m=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list)
  echo "${m:-http://deb.debian.org/debian}"
}
suite=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")
base_reason=""
if [ "${SMOKE_REBUILD_BASE:-0}" = 1 ]; then
  docker rmi -f "$JRE_IMAGE" "$MAVEN_IMAGE" "$DEBIAN_IMAGE" >/dev/null 2>&1 || true
fi
if ! have_image "$JRE_IMAGE" && ! have_image "$DEBIAN_IMAGE"; then
  free_mb=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
  if ! command -v debootstrap >/dev/null; then
    base_reason="no base image and debootstrap is not installed"
  elif [ "${free_mb:-0}" -lt 3000 ]; then
    base_reason="only ${free_mb} MB free in $WORK (the base images need ~3 GB)"
  else
    mirror=$(debian_mirror)
    note "debootstrap --variant=minbase $suite from $mirror (log: $WORK/debootstrap.log)"
    rm -rf "$WORK/rootfs"
    if bounded 420 debootstrap --variant=minbase "$suite" "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
      && tar -C "$WORK/rootfs" --exclude=./var/cache/apt/archives --exclude=./var/lib/apt/lists -c . \
        | docker import - "$DEBIAN_IMAGE" >/dev/null; then
      note "imported $DEBIAN_IMAGE"
    else
      base_reason="debootstrap or docker import failed: $(tail -2 "$WORK/debootstrap.log" | tr '\n' ' ')"
    fi
    rm -rf "$WORK/rootfs"
  fi
fi
if [ -z "$base_reason" ] && ! have_image "$JRE_IMAGE"; then
  note "building $JRE_IMAGE (openjdk-17-jre-headless from Debian; log: $WORK/jre-build.log)"
  bounded 300 docker build --network host -f docker/ci/jre.Dockerfile --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" \
    -t "$JRE_IMAGE" docker/ci >"$WORK/jre-build.log" 2>&1 \
    || base_reason="the JRE base image did not build: $(tail -3 "$WORK/jre-build.log" | tr '\n' ' ')"
fi
if [ -n "$base_reason" ]; then
  skip "image build, run and compose cluster: $base_reason"
  summary
fi

# ------------------------------------------------------------------------------------------- node image
if [ ! -f sfu-server/target/sfu-server.jar ]; then
  note "building sfu-server/target/sfu-server.jar"
  bounded 400 mvn -B -q -o -DskipTests -pl sfu-server -am package >"$WORK/mvn.log" 2>&1 \
    || bounded 400 mvn -B -q -DskipTests -pl sfu-server -am package >"$WORK/mvn.log" 2>&1 \
    || { fail "the server jar did not build: $(tail -5 "$WORK/mvn.log")"; summary; }
fi
if bounded 240 docker build -f docker/Dockerfile --target prebuilt --build-arg RUNTIME_IMAGE="$JRE_IMAGE" \
  -t "$IMAGE" . >"$WORK/image-build.log" 2>&1; then
  pass "docker build --target prebuilt ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1 / 1048576}'))"
else
  fail "docker build --target prebuilt: $(tail -5 "$WORK/image-build.log")"
  summary
fi

if [ "${SMOKE_FULL_BUILD:-0}" = 1 ]; then
  # Not bounded by the budget: minutes of Maven. The Maven base is seeded with this machine's ~/.m2 repository
  # (hard links where it can), so the build stage needs no network of its own.
  if ! have_image "$MAVEN_IMAGE"; then
    rm -rf "$WORK/maven-context" && mkdir -p "$WORK/maven-context/repository"
    cp docker/ci/maven.Dockerfile "$WORK/maven-context/Dockerfile"
    if [ -d "$HOME/.m2/repository" ]; then
      cp -al "$HOME/.m2/repository/." "$WORK/maven-context/repository/" 2>/dev/null \
        || cp -a "$HOME/.m2/repository/." "$WORK/maven-context/repository/"
      rm -rf "$WORK/maven-context/repository/io/cascadesfu" # the reactor builds these
    fi
    timeout 900 docker build --network host --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -t "$MAVEN_IMAGE" \
      "$WORK/maven-context" >"$WORK/maven-build.log" 2>&1 || note "the Maven base image did not build"
    rm -rf "$WORK/maven-context"
  fi
  if timeout 1500 docker build -f docker/Dockerfile --build-arg BUILD_IMAGE="$MAVEN_IMAGE" \
    --build-arg RUNTIME_IMAGE="$JRE_IMAGE" -t cascade-sfu:full . >"$WORK/full-build.log" 2>&1; then
    pass "docker build (default target: Maven inside the container)"
  else
    fail "docker build (default target): $(tail -5 "$WORK/full-build.log")"
  fi
fi

# ------------------------------------------------------------------------------------------- one node
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_port=""
for p in 7979 7969 7959 7949; do port_free "$p" && { http_port=$p; break; }; done
media_port=$((http_port + 3000))
if [ -z "$http_port" ]; then
  skip "running the image: ports 7979, 7969, 7959, 7949 all in use"
else
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  docker run -d --name "$CONTAINER" --network host \
    -e SFU_DEV=true -e SFU_HTTP_BIND=127.0.0.1 -e SFU_MEDIA_BIND=127.0.0.1 -e SFU_HTTP_PORT="$http_port" \
    -e SFU_MEDIA_PORT="$media_port" -e SFU_MEDIA_WORKERS=1 "$IMAGE" >/dev/null
  base="http://127.0.0.1:$http_port"
  code=""
  for _ in $(seq 1 120); do
    out_of_time && break
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$base/health" 2>/dev/null)
    [ "$code" = 200 ] && break
    [ "$(docker inspect --format '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ] || break
    sleep 0.5
  done
  if [ "$code" = 200 ]; then
    pass "container answers GET /health with 200 ($base)"
    page=$(curl -s -m 5 "$base/")
    if [[ "$page" == *"<title>Cascade SFU</title>"* ]]; then pass "GET / serves the demo page"; else fail "GET / is not the demo page"; fi
    metrics=$(curl -s -m 5 "$base/metrics") # not piped into grep -q: with pipefail, curl's SIGPIPE fails it
    if grep -q '^sfu_participants ' <<<"$metrics"; then pass "GET /metrics has sfu_participants"; else fail "GET /metrics has no sfu_participants"; fi
    token=$(curl -s -m 5 "$base/token?room=smoke&identity=ci")
    if [[ "$token" == *'"token"'* ]]; then pass "GET /token (SFU_DEV=true) mints a token"; else fail "GET /token did not mint a token"; fi
    uid=$(docker exec "$CONTAINER" id -u 2>/dev/null)
    if [ "$uid" = 10001 ]; then pass "the node runs as uid 10001"; else fail "the node runs as uid '$uid'"; fi
    health=""
    for _ in $(seq 1 50); do # the first check runs --interval (10 s) after the start
      out_of_time && break
      health=$(docker inspect --format '{{.State.Health.Status}}' "$CONTAINER" 2>/dev/null)
      [ "$health" = healthy ] || [ "$health" = unhealthy ] && break
      sleep 1
    done
    if [ "$health" = healthy ]; then pass "HEALTHCHECK reports healthy"; else fail "HEALTHCHECK reports '$health'"; fi
  else
    fail "no 200 from $base/health (last: '${code}'); container log:"
    docker logs --tail 30 "$CONTAINER" 2>&1 | sed 's/^/  /'
  fi
  docker stop -t 10 "$CONTAINER" >/dev/null 2>&1
  docker rm -f "$CONTAINER" >/dev/null 2>&1 && note "container stopped and removed"

  refusal=$(bounded 60 docker run --rm --network host "$IMAGE" 2>&1)
  rc=$?
  if [ "$rc" = 2 ] && [[ "$refusal" == *"auth.keys is empty"* ]]; then
    pass "the default configuration refuses to start without SFU_KEYS or SFU_DEV (exit 2)"
  else
    fail "the default configuration started or failed otherwise (exit $rc): $(echo "$refusal" | tail -2)"
  fi
fi

# ------------------------------------------------------------------------------------------- 3. compose cluster
nodes=(us-east:7881:10010:7891 us-west:7882:10020:7892 eu-central:7883:10030:7893)
busy=""
for n in "${nodes[@]}"; do
  IFS=: read -r _ h _ c <<<"$n"
  port_free "$h" && port_free "$c" || busy="$busy $h/$c"
done
if [ ${#compose[@]} -eq 0 ]; then
  skip "compose cluster: no compose tool"
elif [ -n "$busy" ]; then
  skip "compose cluster: ports in use:$busy (scripts/local-cluster.sh running?)"
elif out_of_time; then
  skip "compose cluster: out of time"
else
  compose_up=1
  if ! SFU_IMAGE=$IMAGE bounded 120 "${compose[@]}" -f docker/compose.yaml -p "$PROJECT" up -d --no-deps --no-build \
    us-east us-west eu-central >"$WORK/compose.log" 2>&1; then
    fail "compose up: $(tail -5 "$WORK/compose.log")"
  else
    for n in "${nodes[@]}"; do
      IFS=: read -r id h _ _ <<<"$n"
      ok=""
      for _ in $(seq 1 120); do
        out_of_time && break
        if curl -fs -m 2 "http://127.0.0.1:$h/health" >/dev/null 2>&1 \
          && [ "$(curl -s -m 2 "http://127.0.0.1:$h/metrics" | awk '$1 == "sfu_cascade_peers_up" {print int($2)}')" = 2 ]; then
          ok=1
          break
        fi
        sleep 0.5
      done
      if [ -n "$ok" ]; then
        pass "compose node $id healthy on :$h with both peers up"
      else
        fail "compose node $id: not healthy with 2 peers up; log:"
        "${compose[@]}" -f docker/compose.yaml -p "$PROJECT" logs --tail 15 "$id" 2>&1 | sed 's/^/  /'
      fi
    done
    # A call across the containers: two participants of the load tool, one on us-east and one on us-west, each
    # receiving the other's audio and video through the relay links between the containers.
    if [ -f sfu-load/target/sfu-load.jar ] && ! out_of_time; then
      if bounded 90 java -jar sfu-load/target/sfu-load.jar --url http://127.0.0.1:7881 --url http://127.0.0.1:7882 \
        --participants 2 --duration 15s --connect-timeout 30s >"$WORK/load.log" 2>&1 \
        && grep -q 'streams: 4 of 4 expected are receiving' "$WORK/load.log"; then
        pass "a call between us-east and us-west containers: $(grep -m1 -o 'streams: 4 of 4 expected are receiving' "$WORK/load.log")"
      else
        fail "a call between the us-east and us-west containers: $(grep -m1 'streams:' "$WORK/load.log" || tail -3 "$WORK/load.log")"
      fi
    else
      skip "a call through the containers: sfu-load/target/sfu-load.jar missing or out of time"
    fi
  fi
  SFU_IMAGE=$IMAGE bounded 60 "${compose[@]}" -f docker/compose.yaml -p "$PROJECT" down -t 5 >>"$WORK/compose.log" 2>&1 \
    && compose_up="" && note "compose cluster stopped and removed"
fi

summary
