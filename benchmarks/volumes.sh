#!/usr/bin/env bash
# Volumes end to end: berthd against dockerd (Debian's docker.io 20.10, its own containerd) and
# podman (rootful, crun, cgroupfs), each with its own state on a fresh journaled ext4, nothing on
# the network (`--network none`), images loaded from a file.
#   1. `run --rm --network none -v named:/data busybox true` (the volume exists), RUNS times: medians.
#   2. copy-up: `run --rm -v freshN:/payload payload true` into a new volume each time, where the
#      image has 50 MiB in /payload (one 40 MiB file and 1,000 files of 10 KiB): medians.
#   benchmarks/volumes.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-10}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages docker.io containerd podman crun busybox-static
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns
scripts/build-test-images.sh >/dev/null

source benchmarks/state-dirs.sh
make_state_dirs volbench 4G
source benchmarks/dockerd-peer.sh
source benchmarks/podman-peer.sh
cleanup() {
  set +e
  for sock in "$work/berth.sock" "$work/docker/docker.sock"; do
    remove_containers "$sock"
    DOCKER_HOST="unix://$sock" docker volume prune -af >/dev/null 2>&1 || DOCKER_HOST="unix://$sock" docker volume prune -f >/dev/null 2>&1
  done
  stop_podman_peer
  release_engines
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

# The payload image, made the same way on each engine: a container writes it, commit keeps it.
script = "mkdir /payload && dd if=/dev/urandom of=/payload/big bs=1M count=40 2>/dev/null && mkdir /payload/small && " \
         "for i in $(seq 1000); do dd if=/dev/urandom of=/payload/small/$i bs=10k count=1 2>/dev/null; done"
for name in engines:
    cli(name, "run", "--name", "maker", "--network", "none", "busybox", "sh", "-c", script)
    cli(name, "commit", "maker", "payload:bench")
    cli(name, "rm", "maker")
    cli(name, "volume", "create", "named")

named = {}
for name in engines:
    timed(name, "run", "--rm", "--network", "none", "-v", "named:/data", "busybox", "true")
    named[name] = statistics.median(timed(name, "run", "--rm", "--network", "none", "-v", "named:/data", "busybox", "true") for _ in range(runs))
report(named, f"\n1. run --rm --network none -v named:/data busybox true, {runs} runs, medians")

copy = {}
for name in engines:
    samples = []
    for index in range(runs):
        samples.append(timed(name, "run", "--rm", "--network", "none", "-v", f"fresh{index}:/payload", "payload:bench", "true"))
        out = cli(name, "run", "--rm", "--network", "none", "-v", f"fresh{index}:/p", "busybox", "du", "-sk", "/p").stdout
        assert int(out.split()[0]) > 50000, f"{name}: the volume was not filled: {out}"
        cli(name, "volume", "rm", f"fresh{index}")
    copy[name] = statistics.median(samples)
report(copy, f"\n2. copy-up of 50 MiB (1,001 files) into a new volume: run --rm -v freshN:/payload payload:bench true, {runs} runs, medians")
print(f"berthd/dockerd = {copy['berthd']/copy['dockerd']:.2f} (target: at most 0.5)")
PY
