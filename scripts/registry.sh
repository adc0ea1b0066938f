#!/usr/bin/env bash
# A real registry (Debian's docker-registry, distribution 2.8) on loopback for tests and benchmarks.
#
#   scripts/registry.sh start DIR PORT [--htpasswd USER:PASSWORD]
#       storage and config under DIR, listening on 127.0.0.1:PORT; prints the registry's pid.
#       Pushes the busybox test image as 127.0.0.1:PORT/library/busybox:latest (with skopeo).
#   scripts/registry.sh stop DIR
#
# Nothing here talks to anything but 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:?start or stop}
dir=${2:?directory}

case $command in
start)
  port=${3:?port}
  need=()
  for pkg in docker-registry skopeo apache2-utils; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
  fi
  [ -f .testdata/busybox-oci/index.json ] || scripts/build-test-images.sh >/dev/null
  mkdir -p "$dir/storage"
  auth=""
  if [ "${4:-}" = "--htpasswd" ]; then
    user=${5%%:*}; password=${5#*:}
    htpasswd -Bbn "$user" "$password" > "$dir/htpasswd"
    auth="auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd"
  fi
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YAML
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/registry.pid"
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
    sleep 0.05
  done
  creds=()
  [ -n "$auth" ] && creds=(--dest-creds "${5}")
  skopeo copy -q --dest-tls-verify=false "${creds[@]}" oci:.testdata/busybox-oci:latest "docker://127.0.0.1:$port/library/busybox:latest"
  cat "$dir/registry.pid"
  ;;
stop)
  if [ -f "$dir/registry.pid" ]; then
    pid=$(cat "$dir/registry.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  ;;
esac
