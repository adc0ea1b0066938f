#!/usr/bin/env bash
# Resource limits and user namespaces end to end: berthd against dockerd (Debian's docker.io
# 20.10, its own containerd) and podman (rootful, crun, cgroupfs), each with its own state on a
# fresh journaled ext4, nothing on the network (`--network none`), images loaded from a file.
#   1. `run --rm` with limits (memory, swap, cpus, pids, shm size), RUNS times: medians (no --ulimit:
#      podman 4.3 with crun fails it here, setrlimit RLIMIT_NPROC: Operation not permitted).
#   2. `update --memory --memory-swap --cpus` of a running container, RUNS times: medians (podman
#      4.3's update has no --pids-limit).
#   3. `run --rm busybox true` on daemons with `userns-remap: default` (berthd, dockerd), RUNS times:
#      medians. dockremap and its subordinate ranges are removed afterwards if they were not there.
#   benchmarks/limits.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-10}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages docker.io containerd podman crun busybox-static
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns
scripts/build-test-images.sh >/dev/null

source benchmarks/state-dirs.sh
make_state_dirs limitbench 4G
source benchmarks/dockerd-peer.sh
source benchmarks/podman-peer.sh
had_dockremap=$(id dockremap >/dev/null 2>&1 && echo yes || true)
# The saved account files live outside $top, which release_engines removes.
work_saved=$(mktemp -d)
for f in /etc/subuid /etc/subgid; do [ -f "$f" ] && cp "$f" "$work_saved/$(basename "$f").saved"; done
cleanup() {
  set +e
  for sock in "$work/berth.sock" "$work/docker/docker.sock" "$work/docker-remap/docker.sock"; do remove_containers "$sock"; done
  stop_podman_peer
  stop_dockerd_peer "$work/docker-remap"
  release_engines
  if [ -z "$had_dockremap" ]; then userdel dockremap 2>/dev/null; groupdel dockremap 2>/dev/null; fi
  for f in /etc/subuid /etc/subgid; do
    if [ -f "$work_saved/$(basename "$f").saved" ]; then cp "$work_saved/$(basename "$f").saved" "$f"; else rm -f "$f"; fi
  done
  rm -rf "$work_saved"
}
trap cleanup EXIT

start_berthd
DOCKERD_PEER_RUN="$run/docker" start_dockerd_peer "$work/docker"
load_busybox "$work/docker/docker.sock"
start_podman_peer

python3 - "$runs" "$work" "${podman_flags[@]}" <<'PY'
import statistics, sys
sys.path.insert(0, "benchmarks")
from engines import Engines
runs, work = int(sys.argv[1]), sys.argv[2]
engines = Engines(work, sys.argv[3:])
cli, timed, report = engines.cli, engines.timed, engines.report

limits = ["--memory", "64m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "100", "--shm-size", "16m"]
run = {}
for name in engines:
    timed(name, "run", "--rm", "--network", "none", *limits, "busybox", "true")
    run[name] = statistics.median(timed(name, "run", "--rm", "--network", "none", *limits, "busybox", "true") for _ in range(runs))
report(run, f"\n1. run --rm --network none {' '.join(limits)} busybox true, {runs} runs, medians")

update = {}
for name in engines:
    cli(name, "run", "-d", "--name", "updated", "--network", "none", "--memory", "64m", "--memory-swap", "64m", "busybox", "sleep", "600")
    samples = []
    for index in range(runs):
        size = f"{96 + (index % 2) * 32}m"
        samples.append(timed(name, "update", "--memory", size, "--memory-swap", size, "--cpus", "0.5" if index % 2 else "1", "updated"))
    update[name] = statistics.median(samples)
    cli(name, "rm", "-f", "updated")
report(update, f"\n2. update --memory --memory-swap --cpus of a running container, {runs} runs, medians")
PY

# 3. userns-remap: berthd again on a remapped store, dockerd as a second peer with --userns-remap.
kill "$(cat "$work/berthd.pid")"
for _ in $(seq 100); do [ -S "$work/berth.sock" ] || break; sleep 0.05; done
# A remapped root must be let through every directory above its store (dockerd checks it too).
chmod o+x "$top"
echo '{"userns-remap": "default"}' > "$work/remap.json"
start_berthd "$work/remap.json"
DOCKERD_PEER_RUN="$run/docker-remap" start_dockerd_peer "$work/docker-remap" --userns-remap=default
load_busybox "$work/docker-remap/docker.sock"

python3 - "$runs" "$work" <<'PY'
import statistics, sys
sys.path.insert(0, "benchmarks")
from engines import Engines
runs, work = int(sys.argv[1]), sys.argv[2]
engines = Engines(work, None, dockerd="docker-remap")
results = {}
for name in engines:
    mapping = engines.cli(name, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map").stdout
    assert mapping.split()[1] != "0", f"{name}: not remapped: {mapping}"
    results[name] = statistics.median(engines.timed(name, "run", "--rm", "--network", "none", "busybox", "true") for _ in range(runs))
Engines.report(results, f"\n3. userns-remap default: run --rm --network none busybox true, {runs} runs, medians")
PY
