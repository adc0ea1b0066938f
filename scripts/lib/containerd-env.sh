# Sourced: a private containerd (Debian's package) under a temp dir, its own root, state and
# socket, never a system containerd.
#   source scripts/lib/containerd-env.sh
#   trap 'containerd_env_cleanup ID…' EXIT
#   containerd_env_start          # sets work, sock; imports the busybox test image
#   ctr_ run …                    # ctr against it, namespace berth
work=""
sock=""
containerd_pid=""

# Bounded: a hung task never hangs the caller.
ctr_() { timeout 60 ctr --address "$sock" -n berth "$@"; }

containerd_env_start() {
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
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  ctr_ image import --no-unpack=false .testdata/busybox.tar >/dev/null
}

# Removes the given containers' tasks and records, stops containerd and the shims it started
# (a shim outlives containerd by design: each is stopped by the pid it recorded), unmounts.
containerd_env_cleanup() {
  [ -n "$work" ] || return 0
  if [ -n "$containerd_pid" ]; then
    for id in "$@"; do
      ctr_ task kill -s KILL "$id" >/dev/null 2>&1 || true
      ctr_ task delete -f "$id" >/dev/null 2>&1 || true
      ctr_ container rm "$id" >/dev/null 2>&1 || true
    done
    kill "$containerd_pid" 2>/dev/null || true
    wait "$containerd_pid" 2>/dev/null || true
  fi
  for pid_file in "$work"/state/io.containerd.runtime.v2.task/berth/*/shim.pid; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  grep -q " $work/" /proc/mounts && awk -v w="$work/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
  # runc (not berth-runtime) also makes the namespace's parent on a hybrid host's v2 mount and
  # leaves it; an empty leftover there keeps hugetlb from getting a v1 hierarchy (crun needs one).
  rmdir /sys/fs/cgroup/unified/berth 2>/dev/null || true
}
