#!/usr/bin/env bash
# berth-runtime against runc and crun (Debian's packages) on the same busybox bundle, in one run:
#   run      — `RUNTIME run` of `true` (create + start + wait + delete), end to end
#   lifecycle— create, start, then delete after exit, as containerd's shim drives it
#   exec     — `RUNTIME exec` of `true` into a running container
# Prints medians (ms) and ratios against berth-runtime. Usage: benchmarks/runtime.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-40}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

need=()
for pkg in runc crun python3 busybox-static libseccomp-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
scripts/build-release.sh berth-runtime >/dev/null
berth=$PWD/.build/release/berth-runtime
scripts/build-test-images.sh >/dev/null

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
hugetlb_mounted=""
cleanup() {
  for rt in berth runc crun; do
    for id in $(ls "$work/root-$rt" 2>/dev/null); do "$(rt_bin $rt)" --root "$work/root-$rt" delete -f "$id" >/dev/null 2>&1 || true; done
  done
  if [ -n "$hugetlb_mounted" ]; then umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb; fi
  rm -rf "$work"
}
rt_bin() { case $1 in berth) echo "$berth" ;; *) command -v "$1" ;; esac; }
trap cleanup EXIT

# crun refuses a v1 host whose hugetlb controller sits on the (empty) cgroup2 mount: give it
# its own v1 hierarchy for the duration of the run (see ../shared/HOST-AND-PEERS.md).
if [ ! -f /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/hugetlb ] \
   && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
  mkdir /sys/fs/cgroup/hugetlb
  if mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb; then
    hugetlb_mounted=1
  else
    # The kernel keeps hugetlb on v2 while a v2 cgroup exists (a leftover under unified/).
    rmdir /sys/fs/cgroup/hugetlb
    echo "runtime.sh: hugetlb cannot get a v1 hierarchy (cgroups left under /sys/fs/cgroup/unified?): crun will refuse this host" >&2
  fi
fi

bundle="$work/bundle"
mkdir -p "$bundle"
runc spec --bundle "$bundle"
python3 - "$bundle/config.json" "$PWD/.testdata/busybox/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(path, "w"), indent=2)
PY

python3 - "$iterations" "$work" "$bundle" "$berth" <<'PY'
import statistics, subprocess, sys, time
iterations, work, bundle, berth = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
runtimes = {"berth-runtime": berth, "runc": "runc", "crun": "crun"}

import tempfile
errors = tempfile.TemporaryFile()

def call(args):
    # Not a pipe: `create` hands its stdio to the container, which keeps it open.
    errors.seek(0); errors.truncate()
    r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
    if r.returncode != 0:
        errors.seek(0)
        raise SystemExit(f"{' '.join(args)} failed: {errors.read().decode().strip()}")

def timed(fn):
    t = time.perf_counter(); fn(); return (time.perf_counter() - t) * 1000

results = {}
for name, binary in runtimes.items():
    root = f"{work}/root-{name.split('-')[0]}"
    base = [binary, "--root", root]
    # Warm the page cache and the cgroup hierarchy once.
    call(base + ["run", "-b", bundle, f"warm-{name}"])
    run = [timed(lambda i=i: call(base + ["run", "-b", bundle, f"run-{i}"])) for i in range(iterations)]
    def lifecycle(i):
        call(base + ["create", "-b", bundle, f"lc-{i}"]); call(base + ["start", f"lc-{i}"])
        deadline = time.time() + 10
        while b'"stopped"' not in subprocess.run(base + ["state", f"lc-{i}"], capture_output=True).stdout:
            if time.time() > deadline: raise SystemExit("container did not stop")
            time.sleep(0.0005)
        call(base + ["delete", f"lc-{i}"])
    life = [timed(lambda i=i: lifecycle(i)) for i in range(iterations)]
    # exec: a long-running container and `exec true` into it.
    sleeper = f"{work}/bundle-sleep-{name}"
    subprocess.run(["cp", "-r", bundle, sleeper], check=True)
    import json
    cfg = json.load(open(f"{sleeper}/config.json")); cfg["process"]["args"] = ["sleep", "600"]
    json.dump(cfg, open(f"{sleeper}/config.json", "w"))
    call(base + ["run", "-d", "-b", sleeper, "sleeper"])
    execs = [timed(lambda: call(base + ["exec", "sleeper", "true"])) for _ in range(iterations)]
    call(base + ["delete", "-f", "sleeper"])
    results[name] = {"run": statistics.median(run), "lifecycle": statistics.median(life), "exec": statistics.median(execs)}

print(f"\nberth-runtime vs runc vs crun — busybox `true`, {iterations} iterations, medians in ms")
print(f"{'measure':<12}" + "".join(f"{n:>15}" for n in runtimes) + f"{'runc/berth':>12}{'crun/berth':>12}")
for m in ("run", "lifecycle", "exec"):
    b = results["berth-runtime"][m]
    print(f"{m:<12}" + "".join(f"{results[n][m]:>15.1f}" for n in runtimes)
          + f"{results['runc'][m] / b:>11.2f}x{results['crun'][m] / b:>11.2f}x")
PY
