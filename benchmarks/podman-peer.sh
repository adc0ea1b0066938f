# Sourced by the benchmarks: podman as a peer (rootful, crun, cgroupfs), its state under $work and
# $run (from make_state_dirs).
#   start_podman_peer        sets podman_flags and CONTAINERS_CONF, loads the busybox test image
#   stop_podman_peer         removes its containers and volumes, undoes the hugetlb mount
start_podman_peer() {
  # crun refuses a hybrid cgroup layout whose v2 mount still holds a controller; on this VM only
  # hugetlb is bound to no v1 hierarchy (../shared/HOST-AND-PEERS.md): give it one for the run.
  hugetlb_mounted=
  if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers \
     && ! awk '$3 == "cgroup" && $4 ~ /hugetlb/' /proc/mounts | grep -q .; then
    # A controller enabled for v2 children cannot move to v1 (dockerd's runc enables it).
    grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.subtree_control && echo -hugetlb > /sys/fs/cgroup/unified/cgroup.subtree_control
    mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && hugetlb_mounted=1
  fi
  podman_flags=(--root "$work/podman/root" --runroot "$run/podman" --cgroup-manager cgroupfs --runtime crun
                --events-backend none --storage-driver overlay)
  # Limits it may set without CAP_SYS_RESOURCE.
  mkdir -p "$work/podman"
  cat > "$work/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
runtime = "crun"
CONF
  export CONTAINERS_CONF="$work/podman/containers.conf"
  podman "${podman_flags[@]}" load -q -i .testdata/busybox.tar >/dev/null
}

stop_podman_peer() {
  [ -n "${podman_flags+x}" ] || return 0
  podman "${podman_flags[@]}" rm -af -t 0 >/dev/null 2>&1
  podman "${podman_flags[@]}" volume prune -f >/dev/null 2>&1
  [ -n "${hugetlb_mounted:-}" ] && umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb
  return 0
}
