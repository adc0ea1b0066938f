#!/usr/bin/env bash
# Client cost: berth's CLI against the real docker CLI, both talking to the same berthd.
#   `ps`, `images`, `inspect` and `run --rm --network none busybox true`, RUNS times each;
#   medians and ratios (docker / berth; above 1 means berth is faster).
#   benchmarks/cli.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benchmarks/prelude.sh
runs=${1:-30}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
command -v docker >/dev/null || { echo "cli.sh needs the docker CLI on PATH" >&2; exit 1; }
berth_binaries berthd berth-shim berth-runtime berth-init berth-dns berth
scripts/build-test-images.sh >/dev/null

work=$(mktemp -d /tmp/berth-clibench.XXXXXX)
cleanup() {
  set +e
  DOCKER_HOST="unix://$work/b.sock" docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$work/b.sock" docker rm -f >/dev/null 2>&1
  [ -f "$work/berthd.pid" ] && kill "$(cat "$work/berthd.pid")" 2>/dev/null
  sleep 0.2
  awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
"$bin/berthd" -H "unix://$work/b.sock" --data-root "$work/data" --exec-root "$work/run" --config-file "$work/none.json" \
  -p "$work/berthd.pid" >"$work/berthd.log" 2>&1 &
for _ in $(seq 100); do [ -S "$work/b.sock" ] && break; sleep 0.05; done
export DOCKER_HOST="unix://$work/b.sock" DOCKER_CONFIG="$work/client"
docker load -q -i .testdata/busybox.tar >/dev/null
for i in 1 2 3; do docker run -d --network none --name "bench$i" busybox sleep 600 >/dev/null; done

# Median wall time in milliseconds of RUNS executions of a command.
median_ms() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f", m / 1000}'
}

printf '%-40s %10s %10s %8s\n' "command (${runs} runs, median ms)" berth docker "ratio"
for cmd in "ps" "ps -a" "images" "inspect bench1" "run --rm --network none busybox true"; do
  # shellcheck disable=SC2086
  b=$(median_ms "$bin/berth" $cmd)
  # shellcheck disable=SC2086
  d=$(median_ms docker $cmd)
  printf '%-40s %10s %10s %7sx\n' "$cmd" "$b" "$d" "$(awk -v b="$b" -v d="$d" 'BEGIN { printf "%.2f", d / b }')"
done
