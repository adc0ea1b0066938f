#!/usr/bin/env bash
# The task lifecycle containerd's runc shim drives, with RUNTIME in runc's place: run detached,
# exec, pause and resume, kill of a running and of an already-exited task (what the CRI plugin
# does to every exited task), kill --all, delete, and a task that exits by itself. Prints one
# line per step (what ctr printed and its status, pids left out), so that two runtimes'
# transcripts can be compared line by line.
#
#   scripts/containerd-lifecycle.sh RUNTIME_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
case $1 in */*) runtime=$(realpath "$1") ;; *) runtime=$(command -v "$1") ;; esac
tag=$$
long="lc-long-$tag" short="lc-short-$tag"
source scripts/lib/containerd-env.sh
trap 'containerd_env_cleanup "$long" "$short"' EXIT
containerd_env_start

# step NAME COMMAND…: one transcript line; output on one line, without tabs or pids.
step() {
  local name=$1 out status
  shift
  set +e
  out=$("$@" 2>&1 </dev/null)
  status=$?
  set -e
  out=$(printf '%s' "$out" | tr '\n\t' '  ' | sed -E "s/-$tag/-TAG/g; "'s/time="[^"]*" //g; s/[0-9]{4,}//g; s/ +/ /g; s/ $//')
  echo "$name: status=$status ${out}"
}

# The STATUS column of `ctr task ls` for one task.
task_status() { ctr_ task ls | awk -v id="$1" '$1 == id {print $3}'; }

# Waits (bounded) until the task reports STATUS.
wait_status() {
  for _ in $(seq 200); do [ "$(task_status "$1")" = "$2" ] && return 0; sleep 0.05; done
  return 1
}

step "run detached" ctr_ run -d --runc-binary "$runtime" docker.io/library/busybox:latest "$long" \
  sh -c 'trap "exit 0" TERM; sleep 300 & wait' 
step "status after run" task_status "$long"
# The exec lives a moment after its output: once, in a loaded CI run, containerd 1.6's shim
# delivered the exit status (right) but not the output of an exec that had exited at once
# (berth-runtime's exec starts faster than runc's); not reproduced since, cause not found. The
# pause keeps the comparison about the runtime's answers, not that timing.
step "exec" ctr_ task exec --exec-id e1 "$long" sh -c 'echo exec-ok; sleep 0.3; exit 4'
step "exec of a missing binary" ctr_ task exec --exec-id e2 "$long" /no/such/binary
step "pause" ctr_ task pause "$long"
step "status after pause" task_status "$long"
step "resume" ctr_ task resume "$long"
step "status after resume" task_status "$long"
step "kill TERM" ctr_ task kill -s TERM "$long"
step "stopped after kill" wait_status "$long" STOPPED
step "kill of the exited task" ctr_ task kill -s KILL "$long"
step "kill --all of the exited task" ctr_ task kill --all -s KILL "$long"
step "delete" ctr_ task delete "$long"
step "status after delete" task_status "$long"
step "container rm" ctr_ container rm "$long"

step "run of a task that exits by itself" ctr_ run -d --runc-binary "$runtime" docker.io/library/busybox:latest "$short" sh -c 'exit 3'
step "stopped by itself" wait_status "$short" STOPPED
step "kill of the exited task" ctr_ task kill -s KILL "$short"
step "delete" ctr_ task delete "$short"
step "container rm" ctr_ container rm "$short"
