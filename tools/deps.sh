#!/usr/bin/env bash
# Installs the Debian packages emotop needs that are not installed yet.
# Idempotent: with everything present it does nothing and needs no network.
#   tools/deps.sh [--with-python]   (--with-python: torch etc. for the
#                                    fixture, training and benchmark scripts)
set -euo pipefail

pkgs=(
  # build
  gcc meson ninja-build pkg-config
  # libraries
  portaudio19-dev libsamplerate0-dev libopenblas-dev libncurses-dev
  libsndfile1-dev libjansson-dev libssl-dev
  # emotop serve: HTTP and WebSocket (libwebsockets)
  libwebsockets-dev
  # oneDNN: packed-weight fp32 and bf16 matrix products (meson -Donednn)
  libdnnl-dev
  # tests: fuzzing, ALSA virtual capture device, TUI under tmux, demo speech,
  # the served page in a real browser (headless, driven over its DevTools pipe)
  clang libclang-rt-14-dev alsa-utils libasound2-plugins tmux espeak-ng sox
  chromium
  python3 groff-base curl time
  # the Python package (python/): its extension, its tests, pip install
  python3-dev python3-numpy python3-pytest python3-mesonpy python3-venv python3-pip
)
if [ "${1:-}" = "--with-python" ]; then
  pkgs+=(python3-torch python3-torchaudio python3-soundfile python3-onnx)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "emotop: installing missing packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "emotop: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
