#!/usr/bin/env bash
# Builds the offline test images (see build-test-images.py) after installing busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null
fi
python3 scripts/build-test-images.py "${1:-.testdata}"
