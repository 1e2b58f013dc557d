# A Debian 12 JRE 17 base for CI, built on a root file system made by debootstrap and imported as
# DEBIAN_IMAGE (scripts/docker-smoke.sh): these machines reach Debian's packages but no image registry.
# Stands in for eclipse-temurin:17-jre (RUNTIME_IMAGE of docker/Dockerfile).
ARG DEBIAN_IMAGE=sfu-debian:local
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
