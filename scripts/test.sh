#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root: installs what the tests need,
# builds the offline test images, builds Berth and runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

need=()
for pkg in libseccomp-dev libarchive-dev libisal-dev zlib1g-dev zstd busybox-static python3 python3-dbus python3-gi containerd runc docker-registry skopeo apache2-utils curl tmux openssl nftables iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# The integration tests drive berthd with the real docker CLI and the Python docker SDK.
command -v docker >/dev/null || { echo "test.sh: the docker CLI (client only) must be on PATH" >&2; exit 1; }
python3 -c 'import docker' 2>/dev/null || python3 -m pip install -q 'docker==7.1.0'

scripts/build-test-images.sh
swift build --build-tests
swift test --skip-build "$@"
