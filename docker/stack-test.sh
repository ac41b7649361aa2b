#!/usr/bin/env bash
# The whole stack, for real, on a machine with no GPU and no image registry (Debian bookworm, as root):
#   1. a private Docker daemon when none answers (stopped again at the end; a daemon already running is used
#      and left alone);
#   2. a python3.11 base image made here with debootstrap from the Debian mirror, a Redis image from Debian's
#      redis-server, and the four service images from the repository's Dockerfile with CPU build arguments;
#   3. docker-compose.yml + docker/stack-test.yml (host network, no GPU reservation, Redis on its own port,
#      a fresh API key), up until every service is healthy;
#   4. docker/stacktest/drive.py, through the nginx proxy over HTTPS (a certificate made for the run): the
#      user's jobs, 2,000 slow clients while /health is timed, the faults, the same jobs on the embedded mode,
#      the summary;
#   5. removes the containers, volumes, wheel copy and daemon it started.
# Usage: docker/stack-test.sh            (./setup.sh first, for .venv: the embedded mode and the HTTP driver)
# Cache, kept between runs (a fresh machine builds everything): STACK_CACHE, default
# /var/cache/fetal-denoise/stack-test (the debootstrap tarball, the private daemon's images, layers and pip
# cache). `rm -rf` it to start cold.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE=${STACK_CACHE:-/var/cache/fetal-denoise/stack-test}
PROJECT=${STACK_PROJECT:-fdstack}
RUN_DIR=/run/fetal-denoise-stack          # short: the daemon's sockets live under it
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=fetal-denoise/python:3.11-bookworm
REDIS_IMAGE=fetal-denoise/redis-test:bookworm
PROXY_IMAGE=fetal-denoise/proxy
BASE_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
TARGETS=(gateway worker-n2n worker-n2v worker-metrics)
export TAG=${STACK_TAG:-cpu}              # the compose files name images fetal-denoise/<service>:$TAG
PY=${STACK_PYTHON:-$ROOT/.venv/bin/python}   # the project venv (./setup.sh)
log() { printf '[stack-test %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it starts dockerd and runs debootstrap)"
[ -x "$PY" ] || die "no .venv: run ./setup.sh first"
missing=()
for tool in dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's client: it builds with BuildKit by itself (a newer client on PATH may need the buildx plugin).
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
export DOCKER_BUILDKIT=1 COMPOSE_PROJECT_NAME=$PROJECT

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -n 9 || die "another stack test holds $CACHE/lock"
WORK=$(mktemp -d /tmp/fetal-denoise-stack.XXXXXX)
STARTED_DAEMON=0
WHEEL=

stop_private_daemon() {  # by its pid file (if that pid is still a dockerd); then its mounts (netns) and RUN_DIR
  local pid
  pid=$(cat "$RUN_DIR/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    kill "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  awk -v dir="$RUN_DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount
  rm -rf "$RUN_DIR"
}

cleanup() {
  local status=$?
  set +e
  if [ -s "$WORK/stack.yml" ] && "$DOCKER" info >/dev/null 2>&1; then
    docker-compose -p "$PROJECT" -f "$WORK/stack.yml" down --volumes --remove-orphans >/dev/null 2>&1
  fi
  [ -n "$WHEEL" ] && rm -f "docker/wheels/$WHEEL"
  if [ "$STARTED_DAEMON" = 1 ]; then
    log "stopping the private Docker daemon"
    stop_private_daemon
  fi
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else log "logs and inputs kept in $WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. a Docker daemon ------------------------------------------------------------------------------
if "$DOCKER" info >/dev/null 2>&1; then
  log "using the Docker daemon that answers at ${DOCKER_HOST:-the default socket}"
else
  [ -e "$RUN_DIR" ] && log "removing what an interrupted run left in $RUN_DIR"
  stop_private_daemon
  mkdir -p "$RUN_DIR" "$CACHE/docker"
  log "starting a private Docker daemon (data in $CACHE/docker)"
  # No bridge, no iptables: the daemon leaves the machine's network alone; containers use the host network.
  dockerd --storage-driver=overlay2 --bridge=none --iptables=false --ip6tables=false \
    --data-root "$CACHE/docker" --exec-root "$RUN_DIR/exec" --pidfile "$RUN_DIR/docker.pid" \
    -H "unix://$RUN_DIR/docker.sock" >"$WORK/dockerd.log" 2>&1 9>&- &
  STARTED_DAEMON=1
  export DOCKER_HOST=unix://$RUN_DIR/docker.sock
  for _ in $(seq 1 120); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
  "$DOCKER" info >/dev/null 2>&1 || die "the private daemon did not start: $(tail -5 "$WORK/dockerd.log")"
fi
# What an interrupted run of this project left: its containers and volumes.
"$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" rm -f >/dev/null
"$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" volume rm >/dev/null

# --- 2. images -----------------------------------------------------------------------------------------
BUILDS=$WORK/builds.tsv
: >"$BUILDS"
timed() {  # timed NAME COMMAND...: run it; add "NAME<TAB>seconds<TAB>steps from cache/steps" to $BUILDS
  local name=$1 start=$SECONDS log=$WORK/build-${1//\//_}.log
  shift
  "$@" >"$log" 2>&1 || die "$name: $(tail -20 "$log")"
  # BuildKit's plain progress names each Dockerfile step "#N [stage i/n]" and marks a reused one "#N CACHED".
  local steps cached
  steps=$( (grep -o -E '^#[0-9]+ \[([a-z0-9-]+ +)?[0-9]+/[0-9]+\]' "$log" || true) | sort -u | wc -l)
  cached=$(grep -c -E '^#[0-9]+ CACHED$' "$log" || true)
  printf '%s\t%s\t%s\n' "$name" "$((SECONDS - start))" "$cached/$steps" >>"$BUILDS"
}

base_key=$(printf '%s %s' "$BASE_PACKAGES" bookworm | sha256sum | cut -c1-12)
BASE_TAR=$CACHE/base-bookworm-$base_key.tar
if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  printf '%s\t0\tin the daemon\n' "$BASE_IMAGE" >>"$BUILDS"
else
  make_base() {
    if [ ! -s "$BASE_TAR" ]; then
      local rootfs=$CACHE/rootfs.tmp
      rm -rf --one-file-system "$rootfs"
      debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$MIRROR"
      # Docs, man pages, locales, apt's lists and downloads: not needed at run time.
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
      tar -C "$rootfs" --numeric-owner -cf "$BASE_TAR.tmp" .
      mv "$BASE_TAR.tmp" "$BASE_TAR"
      rm -rf --one-file-system "$rootfs"
    fi
    # What the python:3.11-slim images set, so the Dockerfile sees the same PATH and locale.
    "$DOCKER" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$BASE_TAR" "$BASE_IMAGE"
  }
  log "base image $BASE_IMAGE: debootstrap bookworm ($BASE_PACKAGES)"
  timed "$BASE_IMAGE" make_base
fi

# Builds reach the package registries over the host network; the machine's CA bundle goes to pip as a
# BuildKit secret (a TLS-inspecting network), never into a layer.
PIP_CERT_FILE=${PIP_CERT_FILE:-$("$PY" -m pip config get global.cert 2>/dev/null || true)}
PIP_CERT_FILE=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
build() {  # build IMAGE ARGS...
  local image=$1
  shift
  log "building $image"
  timed "$image" "$DOCKER" build --network host --progress plain \
    --secret "id=pip-cert,src=$PIP_CERT_FILE" -t "$image" "$@" .
}
build "$REDIS_IMAGE" -f docker/redis-test.Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE"
build "$PROXY_IMAGE:$TAG" -f docker/proxy.Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE"

# The CPU torch wheel as this machine's pip finds it (its configured find-links or index), into the build
# context for the n2n image only (docker/wheels/ is git-ignored).
"$PY" -m pip download --quiet --no-deps --only-binary=:all: "torch==2.13.0+cpu" -d docker/wheels 2>/dev/null ||
  die "pip finds no torch==2.13.0+cpu wheel: PyPI's Linux torch is the CUDA build; make the CPU wheel findable by pip (a find-links folder, or PyTorch's CPU index https://download.pytorch.org/whl/cpu)"
wheels=(docker/wheels/torch-2.13.0+cpu-cp311-*.whl)
WHEEL=$(basename "${wheels[0]}")
for target in "${TARGETS[@]}"; do
  build "fetal-denoise/$target:$TAG" --target "$target" --build-arg "PYTHON_IMAGE=$BASE_IMAGE" \
    --build-arg "TORCH_WHEEL=$WHEEL" --build-arg TENSORFLOW=tensorflow-cpu
done

# --- 3-4. the stack, driven over HTTP ---------------------------------------------------------------------
read -r REDIS_PORT GATEWAY_PORT HTTPS_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
export STACK_REDIS_PORT=$REDIS_PORT STACK_GATEWAY_PORT=$GATEWAY_PORT STACK_HTTPS_PORT=$HTTPS_PORT
# The proxy's certificate, made for this run: a CA of the run signs the server's (127.0.0.1 and localhost);
# the driver verifies against the CA. Nothing of it is kept: $WORK goes at the end.
TLS_DIR=$WORK/tls
mkdir -p "$TLS_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fetal-denoise stack-test CA" \
  -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$TLS_DIR/tls.key" \
  -out "$TLS_DIR/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$TLS_DIR/ext.cnf"
openssl x509 -req -in "$TLS_DIR/tls.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
  -days 2 -extfile "$TLS_DIR/ext.cnf" -out "$TLS_DIR/tls.crt" 2>/dev/null
chmod 644 "$TLS_DIR/tls.key"   # nginx runs as www-data in its container; a test key, removed at the end
export TLS_DIR
API_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
export API_KEY
docker-compose -p "$PROJECT" -f docker-compose.yml -f docker/stack-test.yml config >"$WORK/merged.yml"
"$PY" docker/stacktest/render.py <"$WORK/merged.yml" >"$WORK/stack.yml"
log "stack: Redis on 127.0.0.1:$REDIS_PORT, gateway on 127.0.0.1:$GATEWAY_PORT behind https://127.0.0.1:$HTTPS_PORT ($WORK/stack.yml)"
PYTHONPATH=$ROOT "$PY" docker/stacktest/drive.py --compose-file "$WORK/stack.yml" --project "$PROJECT" \
  --gateway-url "https://127.0.0.1:$HTTPS_PORT" --ca-file "$TLS_DIR/ca.crt" --api-key "$API_KEY" --work "$WORK" --builds "$BUILDS" \
  --docker "$DOCKER" --compose docker-compose | tee "$WORK/summary.txt"
if [ -n "${STACK_SUMMARY:-}" ]; then cp "$WORK/summary.txt" "$STACK_SUMMARY"; fi
