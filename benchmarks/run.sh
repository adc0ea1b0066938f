#!/usr/bin/env bash
# Container start-up end to end through the real docker CLI: berthd against dockerd (Debian's
# docker.io 20.10 with its own containerd) and podman (rootful, crun, cgroupfs), each with its own
# data root and socket, nothing on the network (`--network none`, images loaded from a file).
#   1. `run --rm --network none busybox true`, RUNS times each: medians and ratios.
#   2. COUNT × `run -d --network none busybox sleep 600`: total time.
#   3. idle daemon RSS, and per-container supervisor RSS (berth-shim / containerd-shim / conmon).
# Every engine keeps its state as on a normal install: data on a fresh journaled ext4 (a loop
# image; this VM's root ext4 has no journal, and there every file created or removed costs far
# more, see benchmarks/pull.sh), run-time state (exec roots, containerd's state, podman's runroot)
# on a tmpfs, as /run is.
#   benchmarks/run.sh [RUNS] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-20}
count=${2:-100}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages docker.io containerd podman crun libarchive-dev libseccomp-dev libisal-dev zlib1g-dev busybox-static
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns
scripts/build-test-images.sh >/dev/null

source benchmarks/state-dirs.sh
make_state_dirs runbench 4G
source benchmarks/dockerd-peer.sh
source benchmarks/podman-peer.sh
cleanup() {
  set +e
  remove_containers "$work/berth.sock"
  remove_containers "$work/docker/docker.sock"
  stop_podman_peer
  release_engines
}
trap cleanup EXIT

# berthd
start_berthd

DOCKERD_PEER_RUN="$run/docker" start_dockerd_peer "$work/docker"
load_busybox "$work/docker/docker.sock"

start_podman_peer

python3 - "$runs" "$count" "$work" "$run" "${podman_flags[@]}" <<'PY'
import os, statistics, subprocess, sys, time
runs, count, work, run, podman_flags = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
engines = {
    "berthd": (["docker"], dict(os.environ, DOCKER_HOST=f"unix://{work}/berth.sock")),
    "dockerd": (["docker"], dict(os.environ, DOCKER_HOST=f"unix://{work}/docker/docker.sock")),
    "podman": (["podman"] + podman_flags, dict(os.environ)),
}

def cli(name, *args, **kw):
    prefix, env = engines[name]
    return subprocess.run(prefix + list(args), env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

def timed(name, *args):
    t = time.perf_counter()
    cli(name, *args)
    return time.perf_counter() - t

def proc_kib(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0

def rss_kib(pid): return proc_kib(f"/proc/{pid}/status", "VmRSS:")
def pss_kib(pid): return proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:")

def pids(pattern):
    out = subprocess.run(["pgrep", "-f", pattern], stdout=subprocess.PIPE, text=True).stdout.split()
    return [int(p) for p in out]

def mib(kib): return kib / 1024

print(f"\n1. run --rm --network none busybox true, {runs} runs, medians (docker CLI 28 as client; podman its own CLI)")
medians = {}
for name in engines:
    timed(name, "run", "--rm", "--network", "none", "busybox", "true")  # warm-up
    medians[name] = statistics.median(timed(name, "run", "--rm", "--network", "none", "busybox", "true") for _ in range(runs))
b = medians["berthd"]
print(f"{'berthd':<10}{b*1000:>9.1f} ms")
for name in ("dockerd", "podman"):
    print(f"{name:<10}{medians[name]*1000:>9.1f} ms   {name}/berthd = {medians[name]/b:.2f}x")

idle = {
    "berthd": rss_kib(int(open(f"{work}/berthd.pid").read())),
    "dockerd + containerd": sum(rss_kib(p) for p in pids(f"dockerd -H unix://{work}/") + pids(f"containerd --config {work}/")),
}

print(f"\n2. {count} x run -d --network none busybox sleep 600: total seconds")
totals = {}
for name in engines:
    t = time.perf_counter()
    for i in range(count):
        cli(name, "run", "-d", "--network", "none", "busybox", "sleep", "600")
    totals[name] = time.perf_counter() - t
for name in engines:
    print(f"{name:<10}{totals[name]:>9.2f} s" + ("" if name == "berthd" else f"   {name}/berthd = {totals[name]/totals['berthd']:.2f}x"))

shim_pids = {
    "berth-shim": pids(f"berth-shim --id .* --dir {run}/"),
    "containerd-shim": pids(f"containerd-shim-runc-v2 -namespace moby"),
    "conmon": pids(f"conmon .*{work}/podman"),
}
print(f"\n3. memory (VmRSS; PSS shares a binary's pages among the processes that map it)")
for name, kib in idle.items():
    print(f"idle {name:<22}{mib(kib):>8.1f} MiB")
print(f"berthd with {count} containers   {mib(rss_kib(int(open(f'{work}/berthd.pid').read()))):>8.1f} MiB")
for name, group in shim_pids.items():
    if group:
        rss = statistics.median(rss_kib(p) for p in group)
        pss = statistics.median(pss_kib(p) for p in group)
        print(f"per container {name:<15}{mib(rss):>8.2f} MiB RSS, {mib(pss):.2f} MiB PSS (median of {len(group)})")
PY
