#!/usr/bin/env bash
# The main job, end to end: start berthd (if it is not running), make a base image from the host's
# static busybox, build an image from a Dockerfile and run a container from it. Run as root after
# scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
berth=bin/berth
host="${BERTH_HOST:-unix:///run/berth/berth.sock}"
export BERTH_HOST="$host"

if ! $berth version >/dev/null 2>&1; then
  echo "== starting berthd on $host"
  mkdir -p /var/log
  nohup bin/berthd -H "$host" >>/var/log/berthd.log 2>&1 &
  for _ in $(seq 100); do $berth version >/dev/null 2>&1 && break; sleep 0.1; done
fi
$berth version

echo "== making a base image from /bin/busybox"
scripts/busybox-rootfs.sh | $berth import -c 'CMD ["sh"]' -m 'busybox from the host' - busybox:latest
$berth images
$berth history busybox
echo "== save | load round trip"
$berth save busybox | $berth load

echo "== building an image from a Dockerfile"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
WORKDIR /app
COPY greeting.txt .
RUN echo "written by a RUN step as $(id -un)" > built.txt
ENV WHO=berth
CMD ["sh", "-c", "cat /app/greeting.txt /app/built.txt; echo \"hello from $WHO in container $(hostname)\""]
DOCKERFILE
echo "a container built by berth" >"$ctx/greeting.txt"
$berth build -t demo/hello:1 "$ctx"

echo "== running a container from it"
$berth run --rm demo/hello:1

echo "== building again: every step comes from the cache"
$berth build -t demo/hello:1 "$ctx" | grep -- '---> Using cache' | wc -l
$berth system df
