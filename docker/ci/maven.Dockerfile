# A Debian 12 JDK 17 + Maven build base for the optional full build of scripts/docker-smoke.sh
# (SMOKE_FULL_BUILD=1), on the same debootstrap root file system as jre.Dockerfile. Stands in for
# maven:3.9-eclipse-temurin-17 (BUILD_IMAGE of docker/Dockerfile).
# The build context holds `repository/`: the host's ~/.m2/repository, so that the Maven stage resolves every
# dependency without reaching a repository from inside the container (an empty folder works where it can).
ARG DEBIAN_IMAGE=sfu-debian:local
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY repository /root/.m2/repository
