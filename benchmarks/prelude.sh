# Sourced by the benchmarks: what every one of them does first.
#   need_packages PKG…          installs the Debian packages that are missing
#   berth_binaries PRODUCT…     sets bin: $BERTH_BIN_DIR, or fresh release builds of PRODUCTs
#   start_berthd [CONFIG]       berthd on $work/berth.sock (data $work/berth, exec root $run/berth,
#                               pid in $work/berthd.pid), the busybox test image loaded
#   load_busybox SOCKET         loads the busybox test image into the engine on SOCKET
#   remove_containers SOCKET    force-removes every container of the engine on SOCKET
#   release_engines             stops berthd and the dockerd peer, unmounts and removes $top
need_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
  done
}

berth_binaries() {
  bin=${BERTH_BIN_DIR:-}
  if [ -z "$bin" ]; then
    scripts/build-release.sh "$@" >/dev/null
    bin=$PWD/.build/release
  fi
}

start_berthd() {
  "$bin/berthd" -H "unix://$work/berth.sock" --data-root "$work/berth" --exec-root "$run/berth" \
    --pidfile "$work/berthd.pid" --config-file "${1:-/nonexistent}" > "$work/berthd.log" 2>&1 &
  for _ in $(seq 100); do [ -S "$work/berth.sock" ] && break; sleep 0.05; done
  load_busybox "$work/berth.sock"
}

load_busybox() {
  DOCKER_HOST="unix://$1" docker load -q -i .testdata/busybox.tar >/dev/null
}

remove_containers() {
  DOCKER_HOST="unix://$1" docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$1" docker rm -f >/dev/null 2>&1
}

release_engines() {
  [ -f "$work/berthd.pid" ] && kill "$(cat "$work/berthd.pid")" 2>/dev/null
  stop_dockerd_peer "$work/docker"
  awk -v w="$top/" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$top"
}
