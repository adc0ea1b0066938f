#!/usr/bin/env bash
# A Debian bookworm minbase image (~50 MB gzip layer) for the pull benchmark, from Debian's own
# mirror with debootstrap (the rootfs is cached in OUT/debian-rootfs), as an OCI layout OUT/debian-oci.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.testdata}
dpkg -s debootstrap >/dev/null 2>&1 || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
if [ ! -x "$out/debian-rootfs/bin/bash" ]; then
  rm -rf "$out/debian-rootfs"
  debootstrap --variant=minbase bookworm "$out/debian-rootfs" >/dev/null
  # What an image build would not ship: downloaded packages and package lists.
  rm -rf "$out"/debian-rootfs/var/cache/apt/archives/*.deb "$out"/debian-rootfs/var/lib/apt/lists/*
fi
[ -f "$out/debian-oci/index.json" ] || python3 scripts/build-test-images.py --from-rootfs "$out/debian-rootfs" debian "$out"
