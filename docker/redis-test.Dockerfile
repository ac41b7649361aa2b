# Redis for docker/stack-test.sh only: Debian bookworm's redis-server on the debootstrap base, because the
# compose file's redis:7.4-alpine comes from a registry the test machine cannot reach. Deployments use that.
ARG BASE_IMAGE=fetal-denoise/python:3.11-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
CMD ["redis-server", "--dir", "/data"]
