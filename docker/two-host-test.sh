#!/usr/bin/env bash
# Several hosts, on one machine: the main host (docker-compose.yml + docker/multi-host.yml, Redis with a
# password) and a second "host", a compose project of docker/worker-host.yml whose N2N and N2V workers join the
# main host's Redis with that password and share its data volume. docker/hoststest/two_hosts.py then shows over
# HTTP that jobs are spread over both hosts, that killing the second host mid-job loses nothing (the job
# finishes on the first), and that a host added later picks up queued work.
# Usage: docker/two-host-test.sh   (after docker/stack-test.sh: its daemon, its CPU images, STACK_TAG)
# What it cannot show here: NFS itself. Both projects mount one local Docker volume where real hosts mount the
# NFS export of docker/multi-host.yml (docker/hoststest/render_hosts.py swaps it), and both reach Redis on loopback
# where real hosts cross a network and a firewall.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export TAG=${STACK_TAG:-cpu}
MAIN=${TWO_HOST_PROJECT:-fdhosts}
EXTRA=${MAIN}b
PY=${STACK_PYTHON:-$ROOT/.venv/bin/python}
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
log() { printf '[two-host-test %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }

[ -x "$PY" ] || die "no .venv: run ./setup.sh first"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker daemon answers at ${DOCKER_HOST:-the default socket}"
for target in gateway worker-n2n worker-n2v worker-metrics; do
  "$DOCKER" image inspect "fetal-denoise/$target:$TAG" >/dev/null 2>&1 ||
    die "no image fetal-denoise/$target:$TAG: run docker/stack-test.sh first (STACK_TAG names its images)"
done
WORK=$(mktemp -d /tmp/fetal-denoise-hosts.XXXXXX)
cleanup() {
  local status=$?
  set +e
  [ -s "$WORK/extra.yml" ] && docker-compose -p "$EXTRA" -f "$WORK/extra.yml" down --remove-orphans >/dev/null 2>&1
  [ -s "$WORK/main.yml" ] && docker-compose -p "$MAIN" -f "$WORK/main.yml" down --volumes --remove-orphans >/dev/null 2>&1
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else log "logs and inputs kept in $WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r REDIS_PORT GATEWAY_PORT HTTPS_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
# docker/stack-test.yml names the proxy's port; render_hosts.py then drops the proxy (the gateway is driven
# directly here).
export STACK_REDIS_PORT=$REDIS_PORT STACK_GATEWAY_PORT=$GATEWAY_PORT STACK_HTTPS_PORT=$HTTPS_PORT
# Longer than any job of the test: a job whose host was killed is handed out again within a minute.
export STACK_VISIBILITY_TIMEOUT=${STACK_VISIBILITY_TIMEOUT:-60}
API_KEY=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
REDIS_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
# multi-host.yml and worker-host.yml mount an NFS export; docker/hoststest/render_hosts.py replaces it (see above).
export API_KEY REDIS_PASSWORD NFS_SERVER=unused NFS_EXPORT=/unused REDIS_HOST=127.0.0.1 REDIS_PORT

docker-compose -p "$MAIN" -f docker-compose.yml -f docker/multi-host.yml -f docker/stack-test.yml \
  -f docker/two-host-test.yml config >"$WORK/main-merged.yml"
"$PY" docker/hoststest/render_hosts.py main host-a <"$WORK/main-merged.yml" >"$WORK/main.yml"
docker-compose -p "$EXTRA" -f docker/worker-host.yml config >"$WORK/extra-merged.yml"
"$PY" docker/hoststest/render_hosts.py extra host-b "${MAIN}_data" <"$WORK/extra-merged.yml" >"$WORK/extra.yml"
log "host-a: project $MAIN (Redis 127.0.0.1:$REDIS_PORT with a password, gateway 127.0.0.1:$GATEWAY_PORT)"
log "host-b: project $EXTRA (docker/worker-host.yml), data volume ${MAIN}_data"
PYTHONPATH=$ROOT "$PY" docker/hoststest/two_hosts.py --main "$WORK/main.yml" --main-project "$MAIN" \
  --extra "$WORK/extra.yml" --extra-project "$EXTRA" --gateway-url "http://127.0.0.1:$GATEWAY_PORT" \
  --api-key "$API_KEY" --work "$WORK" --docker "$DOCKER" | tee "$WORK/summary.txt"
if [ -n "${TWO_HOST_SUMMARY:-}" ]; then cp "$WORK/summary.txt" "$TWO_HOST_SUMMARY"; fi
