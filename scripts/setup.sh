#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a first container: installs build dependencies,
# builds Berth, builds the offline busybox image and runs it with berth-runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

need=()
for pkg in libseccomp-dev libarchive-dev libisal-dev zlib1g-dev busybox-static python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

scripts/build-release.sh berth-runtime berth-shim berth-init berth-dns berthd
scripts/build-test-images.sh >/dev/null

if ! command -v docker >/dev/null; then
  # No docker CLI to talk to berthd: show the runtime on its own.
  bundle=$(mktemp -d /tmp/berth-hello.XXXXXX)
  scripts/make-bundle.py "$bundle" .testdata/busybox/rootfs sh -c 'echo "Hello from a Berth container: pid $$, hostname $(hostname)"'
  .build/release/berth-runtime run --bundle "$bundle" "hello-$$"
  rm -rf "$bundle"
  exit 0
fi

# A first container through berthd, with the docker CLI as the client; then everything is removed.
work=$(mktemp -d /tmp/berth-setup.XXXXXX)
.build/release/berthd -H "unix://$work/berth.sock" --data-root "$work/data" --exec-root "$work/run" \
  --config-file /nonexistent --default-network none > "$work/berthd.log" 2>&1 &
berthd_pid=$!
cleanup() {
  DOCKER_HOST="unix://$work/berth.sock" docker rmi -f busybox >/dev/null 2>&1 || true
  kill "$berthd_pid" 2>/dev/null || true
  wait "$berthd_pid" 2>/dev/null || true
  awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$work/berth.sock" ] && break; sleep 0.05; done
export DOCKER_HOST="unix://$work/berth.sock"
docker load -q -i .testdata/busybox.tar
docker run --rm busybox sh -c 'echo "Hello from a Berth container: pid $$, hostname $(hostname)"'
