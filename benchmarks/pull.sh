#!/usr/bin/env bash
# Pull from a loopback registry: Berth's image libraries (download, verify, unpack into
# snapshots, record) against dockerd (Debian's docker.io 20.10, a full pull) and skopeo
# (download and verify only, into a `dir:` copy), cold cache each run, for the busybox test
# image and a ~50 MB Debian minbase image. Medians and ratios.
# dockerd runs with its own containerd, data root, exec root and socket, pulls only 127.0.0.1
# references, and is stopped (with the docker0 bridge it makes) at the end.
#   benchmarks/pull.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
for pkg in skopeo docker-registry libarchive-dev docker.io; do
  dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
done
swift build -c release --product berth-image-bench >/dev/null
bench=$PWD/.build/release/berth-image-bench
scripts/build-test-images.sh >/dev/null
scripts/build-debian-image.sh >/dev/null

work=$(mktemp -d /tmp/berth-pullbench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
source benchmarks/dockerd-peer.sh
cleanup() {
  stop_dockerd_peer "$work/docker"
  awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  scripts/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/registry.sh start "$work/registry" "$port" >/dev/null
skopeo copy -q --dest-tls-verify=false oci:.testdata/debian-oci:latest "docker://127.0.0.1:$port/library/debian:latest"

start_dockerd_peer "$work/docker" --insecure-registry "127.0.0.1:$port"

python3 - "$runs" "$work" "$port" "$bench" <<'PY'
import os, shutil, statistics, subprocess, sys, time
runs, work, port, bench = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
docker_env = dict(os.environ, DOCKER_HOST=f"unix://{work}/docker/docker.sock")

def docker_pull(ref):
    t = time.perf_counter()
    subprocess.run(["docker", "pull", "-q", ref], check=True, stdout=subprocess.DEVNULL, env=docker_env)
    elapsed = time.perf_counter() - t
    subprocess.run(["docker", "rmi", "-f", ref], check=True, stdout=subprocess.DEVNULL, env=docker_env)
    return elapsed

def timed(args, target):
    shutil.rmtree(target, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    shutil.rmtree(target, ignore_errors=True)
    return elapsed

print(f"\npull from 127.0.0.1 (docker-registry 2.8), cold cache, {runs} runs, medians in seconds")
print(f"{'image':<10}{'berth':>10}{'dockerd':>10}{'skopeo':>10}{'dockerd/berth':>15}{'skopeo/berth':>14}")
for name in ("busybox", "debian"):
    ref = f"127.0.0.1:{port}/library/{name}:latest"
    berth = [timed([bench, ref, "--root", f"{work}/berth-{name}"], f"{work}/berth-{name}") for _ in range(runs)]
    docker = [docker_pull(ref) for _ in range(runs)]
    skopeo = [timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"dir:{work}/skopeo-{name}"],
                    f"{work}/skopeo-{name}") for _ in range(runs)]
    b, d, s = statistics.median(berth), statistics.median(docker), statistics.median(skopeo)
    print(f"{name:<10}{b:>10.3f}{d:>10.3f}{s:>10.3f}{d / b:>14.2f}x{s / b:>13.2f}x")
print("berth and dockerd: download + verify + unpack + record; skopeo: download + verify only")
PY
