#!/usr/bin/env bash
# containerd (Debian's package) runs a container with berth-runtime in runc's place:
#   ctr run --runc-binary berth-runtime …
# containerd gets its own root, state and socket under a temp dir and is stopped at the end
# (scripts/lib/containerd-env.sh), so it never touches a system containerd. Prints the container's output; exits with ctr's status.
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

id="berth-demo-$$"
source scripts/lib/containerd-env.sh
trap 'containerd_env_cleanup "$id"' EXIT
containerd_env_start

run=(ctr --address "$sock" -n berth run --rm --runc-binary "$runtime")
if [ "${BERTH_DEMO_TTY:-}" = 1 ]; then
  script -qec "$(printf '%q ' "${run[@]}" -t docker.io/library/busybox:latest "$id" "${command[@]}")" /dev/null
else
  "${run[@]}" docker.io/library/busybox:latest "$id" "${command[@]}"
fi
