#!/usr/bin/env bash
# Image archives end to end through the real docker CLI: `docker import`, `docker save` and
# `docker load` of a one-layer image of SIZE_MIB MiB of random bytes (default 1024), on berthd
# and on dockerd (Debian's docker.io 20.10, its own containerd), each on a fresh journaled ext4.
# `save` streams to the client, which discards it (median of three). For each step: wall time,
# and the daemon's peak resident memory while it ran (VmRSS sampled
# every 10 ms; for dockerd, dockerd + containerd). BERTH_BASE_BIN=DIR adds a second berthd (say,
# a build of an older commit) measured the same way, to compare two versions in one run.
#   benchmarks/archives.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
size_mib=${1:-1024}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages docker.io containerd libarchive-dev libseccomp-dev libisal-dev zlib1g-dev busybox-static
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns

source benchmarks/state-dirs.sh
make_state_dirs archivebench $((size_mib * 8 + 4096))M
source benchmarks/dockerd-peer.sh
cleanup() {
  set +e
  for pidfile in "$work"/berthd-*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
  stop_dockerd_peer "$work/docker"
  sleep 0.5
  awk -v w="$top/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$top"
}
trap cleanup EXIT

# The layer: SIZE_MIB MiB of random bytes in one file (nothing compresses it).
mkdir "$work/root"
head -c $((size_mib << 20)) /dev/urandom > "$work/root/blob"
tar -C "$work/root" -cf "$work/rootfs.tar" blob
rm -rf "$work/root"

start_berthd() { # NAME BINDIR
  "$2/berthd" -H "unix://$work/$1.sock" --data-root "$work/$1" --exec-root "$run/$1" \
    --pidfile "$work/berthd-$1.pid" --config-file /nonexistent > "$work/$1.log" 2>&1 &
  for _ in $(seq 100); do [ -S "$work/$1.sock" ] && [ -s "$work/berthd-$1.pid" ] && break; sleep 0.05; done
}
engines=(berthd)
start_berthd berthd "$bin"
if [ -n "${BERTH_BASE_BIN:-}" ]; then
  start_berthd berthd-base "$BERTH_BASE_BIN"
  engines+=(berthd-base)
fi
DOCKERD_PEER_RUN="$run/docker" start_dockerd_peer "$work/docker"
engines+=(dockerd)

python3 - "$work" "$size_mib" "${engines[@]}" <<'PY'
import os, subprocess, sys, threading, time
work, size_mib, engines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def sockets(name):
    return f"unix://{work}/docker/docker.sock" if name == "dockerd" else f"unix://{work}/{name}.sock"

def daemon_pids(name):
    if name == "dockerd":
        found = []
        for pattern in (f"dockerd -H unix://{work}/", f"containerd --config {work}/"):
            found += [int(p) for p in subprocess.run(["pgrep", "-f", pattern], stdout=subprocess.PIPE, text=True).stdout.split()]
        return found
    return [int(open(f"{work}/berthd-{name}.pid").read())]

def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def measured(name, *args, output=subprocess.DEVNULL):
    """Runs a docker command against NAME; wall seconds and the daemon's peak RSS (MiB) meanwhile."""
    pids = daemon_pids(name)
    # The previous step's writeback is not this one's cost.
    subprocess.run(["sync"], check=True)
    peak = [sum(rss_kib(p) for p in pids)]
    done = threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], sum(rss_kib(p) for p in pids))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    subprocess.run(["docker", *args], env=dict(os.environ, DOCKER_HOST=sockets(name)), check=True,
                   stdout=output, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    return elapsed, peak[0] / 1024

results = {}
for name in engines:
    saved = f"{work}/{name}-saved.tar"
    time.sleep(3)  # berthd gives pages back after a quiet spell: compare daemons at rest
    idle = sum(rss_kib(p) for p in daemon_pids(name)) / 1024
    steps = {}
    steps["import"] = measured(name, "import", f"{work}/rootfs.tar", "big:1")
    # save: the archive streamed to the client, which drops it (the client's disk is not the
    # daemon's cost); three times, the median. Then once to a file, unmeasured, for the load.
    saves = sorted(measured(name, "save", "big:1") for _ in range(3))
    steps["save"] = saves[1]
    subprocess.run(["docker", "save", "-o", saved, "big:1"], env=dict(os.environ, DOCKER_HOST=sockets(name)), check=True)
    subprocess.run(["docker", "rmi", "big:1"], env=dict(os.environ, DOCKER_HOST=sockets(name)), check=True, stdout=subprocess.DEVNULL)
    steps["load"] = measured(name, "load", "-i", saved)
    os.unlink(saved)
    results[name] = (idle, steps)

print(f"\nimage archives of a {size_mib} MiB layer, through the docker CLI: seconds, and the daemon's peak RSS")
print(f"{'':<13}{'idle':>9}" + "".join(f"{step:>24}" for step in ("import", "save", "load")))
for name, (idle, steps) in results.items():
    print(f"{name:<13}{idle:>7.1f} M" + "".join(f"{t:>11.2f} s {rss:>8.1f} MiB" for t, rss in steps.values()))
base = results["berthd"][1]
for name in engines[1:]:
    print(f"{name}/berthd time: " + ", ".join(f"{step} {results[name][1][step][0] / base[step][0]:.2f}x" for step in base)
          + "; peak RSS: " + ", ".join(f"{step} {results[name][1][step][1] / base[step][1]:.2f}x" for step in base))
PY
