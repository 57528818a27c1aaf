#!/usr/bin/env bash
# Installs the reference engines (Debian's docker.io and podman) if missing, builds berth, and runs
# the side-by-side scenarios. As root. Usage: bench/run.sh [import|saveload|images|run|network|fifty|build|registry|memory]...
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v podman >/dev/null || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/setup.sh >/dev/null
exec node --import tsx bench/run.ts "$@"
