#!/usr/bin/env bash
# Installs the Debian packages vlatune builds and tests with, when they are missing.
set -euo pipefail
packages=(libsqlite3-dev libarchive-dev libssl-dev pkg-config python3-venv zstd zip util-linux
  libsnappy-dev libzstd-dev zlib1g-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libturbojpeg0-dev ffmpeg libhdf5-dev libosmesa6 libgl1-mesa-dri libegl1)
if pkg-config --exists libarchive sqlite3 libcrypto libzstd zlib libavformat libavcodec libswscale \
  libturbojpeg hdf5 2>/dev/null && [ -e /usr/include/snappy-c.h ] && command -v zstd >/dev/null \
  && command -v ffmpeg >/dev/null \
  && command -v prlimit >/dev/null && /sbin/ldconfig -p | grep libOSMesa >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing system packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
