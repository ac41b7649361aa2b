#!/usr/bin/env bash
# The GPU images, built for real and checked on a machine with no GPU (Debian bookworm, as root):
#   1. the python3.11 base image and the Redis image of docker/stack-test.sh (made with debootstrap when the
#      daemon lacks them), then the four Dockerfile targets with the Dockerfile's GPU defaults: PyPI's CUDA
#      torch wheel (worker-n2n) and tensorflow[and-cuda] (worker-n2v); build times and image sizes recorded;
#   2. inside the images, what can be checked without a GPU (docker/gpucheck/inside.py): worker-n2n's torch is
#      a CUDA build whose CUDA runtime and cuDNN libraries load; worker-n2v's TensorFlow is built with CUDA and
#      imports with n2v and csbdeep under the pinned numpy;
#   3. the stack (docker-compose.yml + docker/stack-test.yml, these images, no GPU reservation): every worker
#      starts, registers its tasks, says in its log and in the gateway's /health that it sees no GPU, and runs a
#      job on the CPU (docker/gpucheck/gpu_stack.py);
#   4. writes the figures to GPU_RESULTS (default benchmarks/results/gpu-images.json) and removes the stack.
# Usage: docker/gpu-image-check.sh          (./setup.sh first: the venv runs the HTTP driver)
#        docker/gpu-image-check.sh --dry    (prints the builds and checks it would run; needs no Docker)
# It uses the Docker daemon at DOCKER_HOST (docker/stack-test.sh starts a private one: run it once first, or
# start one as it does). Images are tagged fetal-denoise/<target>:$GPU_TAG (default gpu); the pip cache and
# layers stay in the daemon between runs. GPU_KEEP_IMAGES=1 keeps the GPU images at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DRY=0
[ "${1:-}" = --dry ] && DRY=1
CACHE=${STACK_CACHE:-/var/cache/fetal-denoise/stack-test}
PROJECT=${GPU_PROJECT:-fdgpu}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=fetal-denoise/python:3.11-bookworm
REDIS_IMAGE=fetal-denoise/redis-test:bookworm
BASE_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
TARGETS=(gateway worker-n2n worker-n2v worker-metrics)
export TAG=${GPU_TAG:-gpu}
RESULTS=${GPU_RESULTS:-$ROOT/benchmarks/results/gpu-images.json}
PY=${STACK_PYTHON:-$ROOT/.venv/bin/python}
log() { printf '[gpu-image-check %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || echo docker)

# The GPU defaults: no TORCH_WHEEL, no TORCH_INDEX_URL, no TENSORFLOW argument; only the base image.
build_args() {  # build_args TARGET: the docker build arguments of one image
  printf '%s\n' --network host --progress plain --secret "id=pip-cert,src=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" \
    --target "$1" --build-arg "PYTHON_IMAGE=$BASE_IMAGE" -t "fetal-denoise/$1:$TAG" .
}
if [ "$DRY" = 1 ]; then
  for target in "${TARGETS[@]}"; do
    echo "build fetal-denoise/$target:$TAG: docker build $(build_args "$target" | tr '\n' ' ')"
  done
  for target in "${TARGETS[@]}"; do
    echo "check fetal-denoise/$target:$TAG: python docker/gpucheck/inside.py $target"
  done
  echo "stack: docker-compose.yml + docker/stack-test.yml with TAG=$TAG; docker/gpucheck/gpu_stack.py"
  echo "results: $RESULTS"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "run as root (debootstrap)"
[ -x "$PY" ] || die "no .venv: run ./setup.sh first"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker daemon answers at ${DOCKER_HOST:-the default socket} (docker/stack-test.sh starts one)"
export DOCKER_BUILDKIT=1 COMPOSE_PROJECT_NAME=$PROJECT
mkdir -p "$CACHE"
WORK=$(mktemp -d /tmp/fetal-denoise-gpu.XXXXXX)

cleanup() {
  local status=$?
  set +e
  if [ -s "$WORK/stack.yml" ]; then
    docker-compose -p "$PROJECT" -f "$WORK/stack.yml" down --volumes --remove-orphans >/dev/null 2>&1
  fi
  if [ "${GPU_KEEP_IMAGES:-0}" != 1 ]; then
    for target in "${TARGETS[@]}"; do "$DOCKER" rmi "fetal-denoise/$target:$TAG" >/dev/null 2>&1; done
  fi
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else log "logs kept in $WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" rm -f >/dev/null
"$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r "$DOCKER" volume rm >/dev/null

BUILDS=$WORK/builds.tsv
: >"$BUILDS"
timed() {  # timed NAME COMMAND...: run it; add "NAME<TAB>seconds<TAB>cached/steps" to $BUILDS
  local name=$1 start=$SECONDS log=$WORK/build-${1//\//_}.log
  shift
  "$@" >"$log" 2>&1 || die "$name: $(tail -20 "$log")"
  local steps cached
  steps=$( (grep -o -E '^#[0-9]+ \[([a-z0-9-]+ +)?[0-9]+/[0-9]+\]' "$log" || true) | sort -u | wc -l)
  cached=$(grep -c -E '^#[0-9]+ CACHED$' "$log" || true)
  printf '%s\t%s\t%s\n' "$name" "$((SECONDS - start))" "$cached/$steps" >>"$BUILDS"
}

# --- 1. images ---------------------------------------------------------------------------------------------
base_key=$(printf '%s %s' "$BASE_PACKAGES" bookworm | sha256sum | cut -c1-12)
BASE_TAR=$CACHE/base-bookworm-$base_key.tar
if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  make_base() {  # as docker/stack-test.sh does
    if [ ! -s "$BASE_TAR" ]; then
      local rootfs=$CACHE/rootfs.tmp
      rm -rf --one-file-system "$rootfs"
      debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$MIRROR"
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
      tar -C "$rootfs" --numeric-owner -cf "$BASE_TAR.tmp" .
      mv "$BASE_TAR.tmp" "$BASE_TAR"
      rm -rf --one-file-system "$rootfs"
    fi
    "$DOCKER" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$BASE_TAR" "$BASE_IMAGE"
  }
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  log "base image $BASE_IMAGE: debootstrap bookworm ($BASE_PACKAGES)"
  timed "$BASE_IMAGE" make_base
fi
PIP_CERT_FILE=${PIP_CERT_FILE:-$("$PY" -m pip config get global.cert 2>/dev/null || true)}
PIP_CERT_FILE=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
export PIP_CERT_FILE
if ! "$DOCKER" image inspect "$REDIS_IMAGE" >/dev/null 2>&1; then
  log "building $REDIS_IMAGE"
  timed "$REDIS_IMAGE" "$DOCKER" build --network host --progress plain -f docker/redis-test.Dockerfile \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$REDIS_IMAGE" .
fi
for target in "${TARGETS[@]}"; do
  log "building fetal-denoise/$target:$TAG (GPU defaults)"
  mapfile -t args < <(build_args "$target")
  timed "fetal-denoise/$target:$TAG" "$DOCKER" build "${args[@]}"
done
SIZES=$WORK/sizes.tsv
for target in "${TARGETS[@]}"; do
  printf '%s\t%s\n' "fetal-denoise/$target:$TAG" \
    "$("$DOCKER" image inspect -f '{{.Size}}' "fetal-denoise/$target:$TAG")" >>"$SIZES"
done

# --- 2. inside each image ------------------------------------------------------------------------------------
CHECKS=$WORK/checks.jsonl
for target in "${TARGETS[@]}"; do
  log "checking inside fetal-denoise/$target:$TAG"
  "$DOCKER" run --rm --network host -v "$ROOT/docker/gpucheck/inside.py:/check/inside.py:ro" \
    "fetal-denoise/$target:$TAG" python /check/inside.py "$target" >>"$CHECKS" 2>"$WORK/check-$target.log" ||
    die "$target: $(tail -20 "$WORK/check-$target.log")"
  tail -1 "$CHECKS"
done

# --- 3. the stack on the CPU ------------------------------------------------------------------------------
read -r REDIS_PORT GATEWAY_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
export STACK_REDIS_PORT=$REDIS_PORT STACK_GATEWAY_PORT=$GATEWAY_PORT
API_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
export API_KEY
docker-compose -p "$PROJECT" -f docker-compose.yml -f docker/stack-test.yml config >"$WORK/merged.yml"
"$PY" docker/stacktest/render.py <"$WORK/merged.yml" >"$WORK/stack.yml"
log "stack: Redis on 127.0.0.1:$REDIS_PORT, gateway on 127.0.0.1:$GATEWAY_PORT"
PYTHONPATH=$ROOT "$PY" docker/gpucheck/gpu_stack.py --compose-file "$WORK/stack.yml" --project "$PROJECT" \
  --gateway-url "http://127.0.0.1:$GATEWAY_PORT" --api-key "$API_KEY" --work "$WORK" --builds "$BUILDS" \
  --sizes "$SIZES" \
  --checks "$CHECKS" --results "$RESULTS" --docker "$DOCKER"
