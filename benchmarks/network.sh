#!/usr/bin/env bash
# Networking end to end through the real docker CLI: berthd against dockerd (Debian's docker.io
# 20.10, its own containerd, userland proxy as shipped, --iptables=false as every benchmark here
# runs it). Each engine has a bridge and a subnet of its own; traffic stays on the host.
#   1. run --rm busybox true: Berth on its default bridge and with --network none, dockerd on its bridge.
#   2. COUNT x run -d -p 127.0.0.1:PORT:80 (distinct ports): total time.
#   3. published-port throughput on loopback: a 256 MiB file from busybox httpd to curl.
#   4. name lookups from inside a container on a user network (200 nslookups, process start included).
#   5. 500 published ports: what they add to the engine's memory (dockerd: a docker-proxy each).
#   6. network connect + disconnect of a running container (live: an interface comes and goes).
#   benchmarks/network.sh [RUNS] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-20}
count=${2:-50}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
need_packages docker.io containerd nftables iproute2 curl busybox-static
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns
scripts/build-test-images.sh >/dev/null

source benchmarks/state-dirs.sh
make_state_dirs netbench 4G
source benchmarks/dockerd-peer.sh
bridge=btbench$$
cleanup() {
  set +e
  for sock in "$work/berth.sock" "$work/docker/docker.sock"; do
    remove_containers "$sock"
    DOCKER_HOST="unix://$sock" docker network prune -f >/dev/null 2>&1
  done
  release_engines
  ip link del "$bridge" 2>/dev/null; nft delete table ip "berth-$bridge" 2>/dev/null
}
trap cleanup EXIT

# Upstream DNS on loopback only: no lookup of the benchmark leaves the machine.
echo "{\"bridge\": \"$bridge\", \"bip\": \"10.250.0.1/24\", \"dns\": [\"127.0.0.2\"]}" > "$work/daemon.json"
start_berthd "$work/daemon.json"

DOCKERD_PEER_RUN="$run/docker" start_dockerd_peer "$work/docker" --bip 10.251.0.1/24 --dns 127.0.0.2
load_busybox "$work/docker/docker.sock"

python3 - "$runs" "$count" "$work" "$run" <<'PY'
import os, re, statistics, subprocess, sys, time
runs, count, work, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
env = {"berthd": dict(os.environ, DOCKER_HOST=f"unix://{work}/berth.sock"),
       "dockerd": dict(os.environ, DOCKER_HOST=f"unix://{work}/docker/docker.sock")}

def docker(name, *args, check=True):
    return subprocess.run(["docker", *args], env=env[name], check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def timed(name, *args):
    t = time.perf_counter(); docker(name, *args); return time.perf_counter() - t

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])
    return 0

def pids(pattern):
    return [int(p) for p in subprocess.run(["pgrep", "-f", pattern], stdout=subprocess.PIPE, text=True).stdout.split()]

def free_port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

print(f"\n1. run --rm busybox true, {runs} runs, medians")
cases = [("berthd bridge", "berthd", []), ("berthd none", "berthd", ["--network", "none"]), ("dockerd bridge", "dockerd", [])]
medians = {}
for label, name, extra in cases:
    timed(name, "run", "--rm", *extra, "busybox", "true")
    medians[label] = statistics.median(timed(name, "run", "--rm", *extra, "busybox", "true") for _ in range(runs))
for label, _, _ in cases:
    print(f"{label:<16}{medians[label]*1000:>8.1f} ms")
print(f"dockerd bridge / berthd bridge = {medians['dockerd bridge']/medians['berthd bridge']:.2f}x; "
      f"berthd bridge - none = {(medians['berthd bridge']-medians['berthd none'])*1000:.1f} ms")

print(f"\n2. {count} x run -d -p 127.0.0.1:PORT:80 busybox httpd: total seconds")
totals = {}
for name in env:
    t = time.perf_counter()
    for _ in range(count):
        docker(name, "run", "-d", "-p", f"127.0.0.1:{free_port()}:80", "busybox", "httpd", "-f", "-p", "80")
    totals[name] = time.perf_counter() - t
    docker(name, "rm", "-f", *docker(name, "ps", "-aq").stdout.split())
print(f"berthd   {totals['berthd']:>7.2f} s\ndockerd  {totals['dockerd']:>7.2f} s   dockerd/berthd = {totals['dockerd']/totals['berthd']:.2f}x")

print("\n3. published port on 127.0.0.1: 256 MiB from busybox httpd to curl, median of 3")
speeds = {}
for name in env:
    port = free_port()
    docker(name, "run", "-d", "--name", "big", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
           "mkdir /www && dd if=/dev/zero of=/www/big bs=1M count=256 2>/dev/null && httpd -f -p 80 -h /www")
    for _ in range(100):
        if subprocess.run(["curl", "-sf", "-o", "/dev/null", "-r", "0-0", f"http://127.0.0.1:{port}/big"]).returncode == 0: break
        time.sleep(0.1)
    samples = []
    for _ in range(3):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", f"http://127.0.0.1:{port}/big"],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        samples.append(float(out) / (1 << 20))
    speeds[name] = statistics.median(samples)
    docker(name, "rm", "-f", "big")
print(f"berthd (DNAT in the kernel)   {speeds['berthd']:>8.0f} MiB/s\ndockerd (docker-proxy)        {speeds['dockerd']:>8.0f} MiB/s   berthd/dockerd = {speeds['berthd']/speeds['dockerd']:.2f}x")

print("\n4. name lookups from a container on a user network: 200 x nslookup, per lookup (process start included)")
lookups = {}
for name, subnet in (("berthd", "10.252.0.0/24"), ("dockerd", "10.253.0.0/24")):
    docker(name, "network", "create", "--subnet", subnet, "benchnet")
    docker(name, "run", "-d", "--name", "web", "--network", "benchnet", "busybox", "sleep", "600")
    out = docker(name, "run", "--rm", "--network", "benchnet", "busybox", "sh", "-c",
                 "nslookup web >/dev/null || exit 1; time -p sh -c 'for i in $(seq 200); do nslookup web >/dev/null; done'", check=False)
    match = re.search(r"real (\d+\.\d+)", out.stderr)
    lookups[name] = float(match.group(1)) / 200 * 1000 if match and out.returncode == 0 else None
    if name == "berthd": dns_kib = sum(rss_kib(p) for p in pids(f"berth-dns --socket {run}/"))
    docker(name, "rm", "-f", "web"); docker(name, "network", "rm", "benchnet")
for name, value in lookups.items():
    print(f"{name:<9}" + (f"{value:>8.2f} ms" if value is not None else "   failed"))
if all(lookups.values()):
    print(f"dockerd/berthd = {lookups['dockerd']/lookups['berthd']:.2f}x")
print(f"berth-dns (the embedded DNS, outliving berthd) serving one container: {dns_kib/1024:.1f} MiB RSS")

print("\n5. 500 published ports (one container, -p 127.0.0.1:30000-30499:30000-30499): memory they add")
def engine_kib(name):
    if name == "berthd":
        return rss_kib(int(open(f"{work}/berthd.pid").read())) + sum(rss_kib(p) for p in pids(f"berth-dns --socket {run}/"))
    return sum(rss_kib(p) for p in pids(f"dockerd -H unix://{work}/docker") + pids("docker-proxy"))
for name in env:
    before = engine_kib(name)
    t = time.perf_counter()
    docker(name, "run", "-d", "--name", "many", "-p", "127.0.0.1:30000-30499:30000-30499", "busybox", "sleep", "600")
    started = time.perf_counter() - t
    after = engine_kib(name)
    proxies = len(pids("docker-proxy")) if name == "dockerd" else 0
    print(f"{name:<9}+{(after-before)/1024:>7.1f} MiB   ({proxies} proxy processes; run took {started:.2f} s)")
    docker(name, "rm", "-f", "many")

print(f"\n6. network connect + disconnect of a running container, {runs} rounds, medians")
rounds = {}
for name, subnet in (("berthd", "10.252.1.0/24"), ("dockerd", "10.253.1.0/24")):
    docker(name, "network", "create", "--subnet", subnet, "joinnet")
    docker(name, "run", "-d", "--name", "joiner", "busybox", "sleep", "600")
    timed(name, "network", "connect", "joinnet", "joiner"); timed(name, "network", "disconnect", "joinnet", "joiner")
    pairs = [(timed(name, "network", "connect", "joinnet", "joiner"), timed(name, "network", "disconnect", "joinnet", "joiner")) for _ in range(runs)]
    rounds[name] = (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs))
    docker(name, "rm", "-f", "joiner"); docker(name, "network", "rm", "joinnet")
for name, (connect, disconnect) in rounds.items():
    print(f"{name:<9}connect {connect*1000:>7.1f} ms   disconnect {disconnect*1000:>7.1f} ms")
print(f"dockerd/berthd = {rounds['dockerd'][0]/rounds['berthd'][0]:.2f}x (connect), {rounds['dockerd'][1]/rounds['berthd'][1]:.2f}x (disconnect)")
PY
