#!/usr/bin/env bash
# Pull from a loopback registry: Berth's image libraries (download, verify, unpack into
# snapshots, record) against dockerd (Debian's docker.io 20.10) and podman (4.3, rootful) —
# full pulls — and skopeo, twice: into containers-storage (a full pull, as podman's) and into a
# `dir:` copy (download and verify only: a floor for the transfer), cold cache each run,
# for the busybox test image and a ~50 MB Debian minbase image. Medians and ratios.
# dockerd runs with its own containerd, data root, exec root and socket, pulls only 127.0.0.1
# references, and is stopped (with the docker0 bridge it makes) at the end; podman has its own
# root, run root and an empty registries.conf.
# Every store lives on a fresh journaled ext4 (a loop image): this VM's root ext4 has no
# journal, and there ext4 skips inodes deleted in the last minute on every file creation, which
# made each run after the first three times slower for every peer.
#   benchmarks/pull.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-5}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages skopeo docker-registry libarchive-dev libisal-dev docker.io podman
# BERTH_IMAGE_BENCH=PATH measures another build of the driver (say, an older commit's).
bench=${BERTH_IMAGE_BENCH:-}
if [ -z "$bench" ]; then
  swift build -c release --product berth-image-bench >/dev/null
  bench=$PWD/.build/release/berth-image-bench
fi
scripts/build-test-images.sh >/dev/null
scripts/build-debian-image.sh >/dev/null

work=$(mktemp -d /tmp/berth-pullbench.XXXXXX)
truncate -s 8G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mkdir "$work/fs"
mount -o loop "$work/fs.img" "$work/fs"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
source benchmarks/dockerd-peer.sh
cleanup() {
  stop_dockerd_peer "$work/fs/docker"
  awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  scripts/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/registry.sh start "$work/registry" "$port" >/dev/null
skopeo copy -q --dest-tls-verify=false oci:.testdata/debian-oci:latest "docker://127.0.0.1:$port/library/debian:latest"

start_dockerd_peer "$work/fs/docker" --insecure-registry "127.0.0.1:$port"
: > "$work/registries.conf"

python3 - "$runs" "$work" "$port" "$bench" <<'PY'
import os, shutil, statistics, subprocess, sys, time
runs, work, port, bench = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
fs = f"{work}/fs"
docker_env = dict(os.environ, DOCKER_HOST=f"unix://{fs}/docker/docker.sock")
podman_env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=f"{work}/registries.conf")

def unmount_under(path):
    mounts = [line.split()[1] for line in open("/proc/mounts") if line.split()[1].startswith(path + "/")]
    for mount in sorted(mounts, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)

def storage_pull(args, root):
    t = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=podman_env)
    elapsed = time.perf_counter() - t
    unmount_under(root)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(f"{root}-run", ignore_errors=True)
    return elapsed

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
peers = ("dockerd", "podman", "skopeo-cs", "skopeo-dir")
print(f"{'image':<10}{'berth':>11}" + "".join(f"{p:>11}" for p in peers) + "".join(f"{p + '/b':>12}" for p in peers))
for name in ("busybox", "debian"):
    ref = f"127.0.0.1:{port}/library/{name}:latest"
    berth = [timed([bench, ref, "--root", f"{fs}/berth-{name}"], f"{fs}/berth-{name}") for _ in range(runs)]
    docker = [docker_pull(ref) for _ in range(runs)]
    root = f"{fs}/podman-{name}"
    podman = [storage_pull(["podman", "--root", root, "--runroot", f"{root}-run", "--storage-driver", "overlay",
                            "--cgroup-manager", "cgroupfs", "pull", "-q", "--tls-verify=false", ref], root) for _ in range(runs)]
    root = f"{fs}/skopeo-cs-{name}"
    storage = [storage_pull(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                             f"containers-storage:[overlay@{root}+{root}-run]{ref}"], root) for _ in range(runs)]
    skopeo = [timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"dir:{fs}/skopeo-{name}"],
                    f"{fs}/skopeo-{name}") for _ in range(runs)]
    results = [statistics.median(x) for x in (berth, docker, podman, storage, skopeo)]
    print(f"{name:<10}" + "".join(f"{x:>11.3f}" for x in results) + "".join(f"{x / results[0]:>11.2f}x" for x in results[1:]))
print("berth, dockerd, podman, skopeo into containers-storage: download + verify + unpack + record;")
print("skopeo dir: download + verify only (a floor for the transfer, not a pull)")
PY
