# Sourced by the benchmarks: dockerd (Debian's docker.io) as a peer, as ../shared/HOST-AND-PEERS.md
# describes: its own containerd, data root, exec root and socket, no iptables rules.
#   start_dockerd_peer DIR [DOCKERD FLAGS…]   (socket: unix://DIR/docker.sock; DOCKERD_PEER_RUN=RUNDIR puts
#                                              containerd's state and dockerd's exec root there, as /run)
#   stop_dockerd_peer DIR                      (also removes a docker0 bridge it made)
_dockerd_had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || true)

start_dockerd_peer() {
  local dir=$1; shift
  local run=${DOCKERD_PEER_RUN:-$dir}
  mkdir -p "$dir" "$run"
  cat > "$dir/containerd.toml" <<TOML
version = 2
root = "$dir/containerd-root"
state = "$run/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
TOML
  containerd --config "$dir/containerd.toml" > "$dir/containerd.log" 2>&1 &
  echo $! > "$dir/containerd.pid"
  dockerd -H "unix://$dir/docker.sock" --containerd "$dir/containerd.sock" --data-root "$dir/data" \
    --exec-root "$run/exec" --pidfile "$dir/dockerd.pid" --iptables=false --ip6tables=false "$@" \
    > "$dir/dockerd.log" 2>&1 &
  for _ in $(seq 200); do DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "dockerd did not start ($dir/dockerd.log):" >&2; tail -5 "$dir/dockerd.log" >&2
  return 1
}

stop_dockerd_peer() {
  local dir=$1
  [ -f "$dir/dockerd.pid" ] && kill "$(cat "$dir/dockerd.pid")" 2>/dev/null
  for _ in $(seq 50); do pgrep -f "dockerd -H unix://$dir/" >/dev/null || break; sleep 0.1; done
  [ -f "$dir/containerd.pid" ] && { kill "$(cat "$dir/containerd.pid")" 2>/dev/null; sleep 0.5; }
  [ -z "$_dockerd_had_docker0" ] && ip link del docker0 2>/dev/null
  return 0
}
