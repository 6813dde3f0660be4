#!/usr/bin/env bash
# The container test: build the image from docker/Dockerfile, bring up docker/docker-compose.yml and
# docker/docker-compose.elasticsearch.yml, and check each stack from outside (tests/deploy/stack/).
#
#   sudo bash scripts/containers.sh        # from the repo root, as root, on Debian 12
#
# No image registry is reachable in CI, so every image is made here: a Debian bookworm base made
# with debootstrap stands in for python:3.11-slim, and an Elasticsearch image built from Elastic's
# integ-test distribution (tests/deploy/elasticsearch-image/) stands in for the official one. The
# compose files run unchanged except for PYJAEGER_IMAGE / ES_IMAGE.
#
# Builds run on the host network under a dockerd that changes nothing on the host's network
# (--iptables=false --bridge=none ...); the stacks run under a second dockerd inside a private
# network namespace, entered with nsenter (ip netns exec hides the cgroup mounts runc needs). The
# checks run in that namespace too, where the published ports are.
#
# PYJAEGER_CONTAINERS_CACHE=1 keeps the base root fs and docker's data root in
# .cache/containers/ between runs (faster builds while iterating; CI starts clean).
# Exits non-zero with the reason when this machine cannot run containers: never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

BASE_TAG=local/python:3.11-slim
PYJAEGER_TAG=pyjaeger:ci
ES_TAG=local/elasticsearch:ci
NS=pyjaeger-ci
NSENTER=(nsenter "--net=/run/netns/$NS")
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || PY=python3

t0=$(date +%s)
phase_start=$t0
phase() {
  local now
  now=$(date +%s)
  echo "=== [containers] $1 ($((now - phase_start)) s; total $((now - t0)) s)"
  phase_start=$now
}
fail() {
  echo "containers.sh: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root (dockerd, debootstrap and network namespaces need it)"

if [ "${PYJAEGER_CONTAINERS_CACHE:-}" = 1 ]; then
  S=$REPO/.cache/containers
  mkdir -p "$S"
else
  S=$(mktemp -d /tmp/pyjaeger-containers.XXXXXX)
fi
W=$S/work
mkdir -p "$W"
export DOCKER_HOST=unix://$W/docker.sock DOCKER_BUILDKIT=1
# Debian's client: a newer `docker` earlier on PATH may lack buildx and fall back to the old builder.
docker() { /usr/bin/docker "$@"; }
COMPOSE_PROJECT=""
COMPOSE_FILE_USED=""

compose() { "${NSENTER[@]}" docker-compose -p "$COMPOSE_PROJECT" -f "$COMPOSE_FILE_USED" "$@"; }

stop_dockerd() {
  local pid
  [ -f "$W/dockerd.pid" ] || return 0
  pid=$(cat "$W/dockerd.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$W/dockerd.pid"
  # dockerd leaves its netns bind mounts behind
  for m in "$W"/exec/netns/*; do [ -e "$m" ] && umount "$m" 2>/dev/null || true; done
}

start_dockerd() {
  # $1: a command prefix (the nsenter into the namespace) or ""; the rest: dockerd flags
  local prefix=$1
  shift
  # shellcheck disable=SC2086
  $prefix dockerd --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" \
    -H "$DOCKER_HOST" --exec-opt native.cgroupdriver=cgroupfs "$@" >>"$W/dockerd.log" 2>&1 &
  for _ in $(seq 150); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.2
  done
  echo "--- dockerd.log (last 30 lines)" >&2
  tail -n 30 "$W/dockerd.log" >&2 || true
  fail "dockerd did not start (log above); this machine cannot run containers"
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$COMPOSE_PROJECT" ] && [ -f "$W/dockerd.pid" ]; then
    echo "=== [containers] cleanup: docker-compose down -v ($COMPOSE_PROJECT)"
    compose logs --no-color --tail=40 >&2 2>&1 || true
    compose down -v -t 5 >/dev/null 2>&1
  fi
  stop_dockerd
  ip netns list 2>/dev/null | grep -qw "$NS" && ip netns del "$NS"
  if [ "${PYJAEGER_CONTAINERS_CACHE:-}" != 1 ]; then
    # Unmount anything left below the temp dir first, so rm cannot reach into a mounted tree.
    grep -o " $S[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$S"
  fi
  [ "$rc" = 0 ] || echo "containers.sh: FAILED (exit $rc) after $(($(date +%s) - t0)) s" >&2
  exit "$rc"
}
trap cleanup EXIT

# 1. tools -------------------------------------------------------------------------------------
missing=()
for tool in debootstrap /usr/bin/docker dockerd docker-compose nsenter ip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing debootstrap docker.io docker-compose (missing: ${missing[*]})"
  apt-get update -q || fail "apt-get update failed: cannot install docker.io"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap docker.io docker-compose \
    || fail "apt-get install debootstrap docker.io docker-compose failed"
fi
phase "tools"

# 2. what the images and the checks need from the internet, fetched before the namespace -------
bash scripts/elasticsearch.sh fetch >/dev/null
ES_DIST=$(find "$REPO/.cache/elasticsearch" -maxdepth 1 -type d -name 'elasticsearch-*' | sort | tail -n 1)
[ -n "$ES_DIST" ] || fail "no Elasticsearch distribution under .cache/elasticsearch"
STACK_JAEGER_PYTHON=$("$PY" tests/clients/venvs.py jaeger tests/clients/requirements-jaeger.txt | awk '{print $1}')
STACK_OTEL_PYTHON=$("$PY" tests/clients/venvs.py otel tests/clients/requirements-otel.txt | awk '{print $1}')
export STACK_JAEGER_PYTHON STACK_OTEL_PYTHON
phase "Elasticsearch distribution and client venvs"

# 3. the base image's root fs: a stand-in for python:3.11-slim (bookworm's python3 is 3.11) -----
if [ ! -f "$W/rootfs/.pyjaeger-ready" ]; then
  rm -rf --one-file-system "$W/rootfs"
  debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv bookworm "$W/rootfs" \
    >"$W/debootstrap.log" 2>&1 || { tail -n 20 "$W/debootstrap.log" >&2; fail "debootstrap failed"; }
  # pip inside the builds must trust what the host trusts (a TLS-inspecting proxy's CA, say)
  cp /usr/local/share/ca-certificates/*.crt "$W/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$W/rootfs" update-ca-certificates >/dev/null
  chroot "$W/rootfs" python3 -m venv /opt/python
  rm -rf "$W/rootfs/var/lib/apt/lists/"* "$W/rootfs/var/cache/apt/"*.bin "$W/rootfs/var/cache/apt/archives/"*.deb
  touch "$W/rootfs/.pyjaeger-ready"
fi
phase "debootstrap base root fs"

# 4. images, built on the host network ----------------------------------------------------------
start_dockerd "" --iptables=false --ip-forward=false --ip-masq=false --bridge=none
tar -C "$W/rootfs" --exclude=./.pyjaeger-ready -c . | docker import \
  --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' - "$BASE_TAG" >/dev/null
phase "base image"
docker build -q --network=host --build-arg "BASE=$BASE_TAG" -t "$PYJAEGER_TAG" -f docker/Dockerfile . >/dev/null \
  || fail "docker build of docker/Dockerfile failed"
phase "pyjaeger image"
ES_CTX=$W/es-context
rm -rf "$ES_CTX"
mkdir -p "$ES_CTX"
cp tests/deploy/elasticsearch-image/* "$ES_CTX/"
# hard links: the context is sent to dockerd anyway, no need for a second copy on disk
cp -al "$ES_DIST" "$ES_CTX/elasticsearch" 2>/dev/null || cp -a "$ES_DIST" "$ES_CTX/elasticsearch"
docker build -q --network=host --build-arg "BASE=$BASE_TAG" -t "$ES_TAG" "$ES_CTX" >/dev/null \
  || fail "docker build of tests/deploy/elasticsearch-image failed"
rm -rf "$ES_CTX"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^($PYJAEGER_TAG|$ES_TAG|$BASE_TAG) "
stop_dockerd
phase "Elasticsearch image"

# 5. the stacks, inside a private network namespace ---------------------------------------------
ip netns list | grep -qw "$NS" && ip netns del "$NS"
ip netns add "$NS" || fail "cannot make the network namespace $NS (ip netns add)"
"${NSENTER[@]}" ip link set lo up || fail "cannot enter the network namespace $NS with nsenter"
start_dockerd "${NSENTER[*]}"
export PYJAEGER_IMAGE=$PYJAEGER_TAG ES_IMAGE=$ES_TAG
phase "dockerd in namespace $NS"

run_stack() {
  # $1: project, $2: compose file, $3: check file
  COMPOSE_PROJECT=$1 COMPOSE_FILE_USED=$2
  export STACK_PROJECT=$1 STACK_COMPOSE_FILE=$REPO/$2
  compose up -d --no-build || fail "docker-compose up ($2) failed"
  compose ps
  phase "$2 up (healthy)"
  "${NSENTER[@]}" "$REPO/.venv/bin/pytest" -p no:cacheprovider -v -s "$3" || fail "stack checks $3 failed"
  phase "$3"
  compose down -v -t 10
  local left
  left=$( (docker ps -aq --filter "label=com.docker.compose.project=$1"; \
           docker volume ls -q --filter "label=com.docker.compose.project=$1") | wc -l)
  [ "$left" = 0 ] || { docker ps -a; docker volume ls; fail "docker-compose down -v left $left containers/volumes"; }
  echo "docker-compose down -v: no containers or volumes of project $1 left"
  COMPOSE_PROJECT=""
  phase "$2 down -v"
}
run_stack pyjaeger-aio docker/docker-compose.yml tests/deploy/stack/stack_all_in_one.py
run_stack pyjaeger-es docker/docker-compose.elasticsearch.yml tests/deploy/stack/stack_elasticsearch.py

stop_dockerd
ip netns del "$NS"
echo "=== [containers] all passed in $(($(date +%s) - t0)) s"
