#!/usr/bin/env bash
# Builds the offline test images (see build-test-images.py) after installing busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /bin/busybox ] || ! file -b /bin/busybox 2>/dev/null | grep -q static; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null
fi
python3 scripts/build-test-images.py "${1:-.testdata}"
