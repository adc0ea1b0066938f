#!/usr/bin/env bash
# containerd (Debian's package) runs a container with berth-runtime in runc's place:
#   ctr run --runc-binary berth-runtime …
# containerd gets its own root, state and socket under a temp dir and is stopped at the end,
# so it never touches a system containerd. Prints the container's output; exits with ctr's status.
#
#   scripts/containerd-demo.sh [RUNTIME_BINARY] [-- COMMAND...]
# With BERTH_DEMO_TTY=1 the container gets a terminal (`ctr run -t`, so the shim passes
# --console-socket), run under `script` to give ctr a pty of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=$(realpath "${1:-.build/debug/berth-runtime}")
shift || true
[ "${1:-}" = "--" ] && shift
command=("$@")
[ ${#command[@]} -gt 0 ] || command=(sh -c 'echo "hello from containerd + berth-runtime: pid $$ on $(hostname)"; grep -c "^[0-9]" /proc/self/stat >/dev/null')

command -v containerd >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q containerd >/dev/null; }
[ -f .testdata/busybox.tar ] || scripts/build-test-images.sh >/dev/null

work=$(mktemp -d /tmp/berth-containerd.XXXXXX)
sock="$work/containerd.sock"
cat > "$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
id="berth-demo-$$"
cleanup() {
  ctr --address "$sock" -n berth task kill -s KILL "$id" >/dev/null 2>&1 || true
  ctr --address "$sock" -n berth container rm "$id" >/dev/null 2>&1 || true
  kill "$containerd_pid" 2>/dev/null || true
  wait "$containerd_pid" 2>/dev/null || true
  # A shim outlives containerd by design; stop ours by the pid it recorded.
  shim_pid_file="$work/state/io.containerd.runtime.v2.task/berth/$id/shim.pid"
  [ -f "$shim_pid_file" ] && kill "$(cat "$shim_pid_file")" 2>/dev/null || true
  grep -q " $work/" /proc/mounts && awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
ctr --address "$sock" -n berth image import --no-unpack=false .testdata/busybox.tar >/dev/null
run=(ctr --address "$sock" -n berth run --rm --runc-binary "$runtime")
if [ "${BERTH_DEMO_TTY:-}" = 1 ]; then
  script -qec "$(printf '%q ' "${run[@]}" -t docker.io/library/busybox:latest "$id" "${command[@]}")" /dev/null
else
  "${run[@]}" docker.io/library/busybox:latest "$id" "${command[@]}"
fi
