#!/usr/bin/env bash
# Installs what berth needs on a fresh Debian machine (as root) and builds it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(runc conmon busybox-static pigz zstd xz-utils bzip2 iptables iproute2 procps tini skopeo docker-registry docker-compose debootstrap)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The docker-registry package starts a service on :5000; tests start their own on loopback ports.
systemctl disable --now docker-registry >/dev/null 2>&1 || true
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
