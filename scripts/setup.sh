#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a first container: installs build dependencies,
# builds Berth, builds the offline busybox image and runs it with berth-runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

need=()
for pkg in libseccomp-dev libarchive-dev busybox-static python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

swift build -c release --static-swift-stdlib --product berth-runtime
scripts/build-test-images.sh >/dev/null
bundle=$(mktemp -d /tmp/berth-hello.XXXXXX)
scripts/make-bundle.py "$bundle" .testdata/busybox/rootfs sh -c 'echo "Hello from a Berth container: pid $$, hostname $(hostname)"'
.build/release/berth-runtime run --bundle "$bundle" "hello-$$"
rm -rf "$bundle"
