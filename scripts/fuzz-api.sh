#!/usr/bin/env bash
# Fuzzes a private berthd with schemathesis over the Engine API spec: every endpoint Berth serves
# except streams, hijacks and those that would reach a registry. Passes when the daemon is alive,
# and serving, at the end, with no crash in its log; with --strict, also no 5xx and every request
# answered within the request timeout.
#
#   scripts/fuzz-api.sh [--examples N] [--time SECONDS] [--spec PATH] [--strict]
#
# Needs a debug build (swift build), the test images (scripts/build-test-images.sh), root, and
# schemathesis (installed from PyPI when missing). Traffic stays on 127.0.0.1 and the daemon's
# own socket; the daemon's containers get no network (default-network none).
set -euo pipefail
cd "$(dirname "$0")/.."

examples=20
budget=300
spec=../shared/specs/engine-api/v1.50.yaml
strict=no
while [ $# -gt 0 ]; do
  case "$1" in
    --examples) examples=$2; shift 2 ;;
    --time) budget=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --strict) strict=yes; shift ;;
    *) echo "fuzz-api.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -f "$spec" ]; then spec=$(realpath "$spec"); else
  echo "fuzz-api.sh: no Engine API spec at $spec: pass --spec PATH (skipping)" >&2
  exit 0
fi
command -v st >/dev/null || python3 -m pip install -q 'schemathesis==4.*'
st=$(command -v st || echo "$(python3 -m site --user-base)/bin/st")

bin=.build/debug
dir=$(mktemp -d /tmp/bfz-XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock=$dir/d.sock
echo '{"default-network": "none"}' > "$dir/daemon.json"
"$bin/berthd" -H "unix://$sock" -H "tcp://127.0.0.1:$port" --data-root "$dir/data" --exec-root "$dir/run" \
  --config-file "$dir/daemon.json" > "$dir/berthd.log" 2>&1 &
daemon=$!

cleanup() {
  if kill -0 "$daemon" 2>/dev/null; then
    ids=$(DOCKER_HOST="unix://$sock" timeout 60 docker ps -aq || true)
    [ -n "$ids" ] && DOCKER_HOST="unix://$sock" timeout 120 docker rm -f $ids >/dev/null 2>&1 || true
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  # Whatever the fuzzer left: runtime containers, then mounts, deepest first.
  for id in $(ls "$dir/run/runtime/berth-runtime" 2>/dev/null | grep -v '^@' || true); do
    "$bin/berth-runtime" --root "$dir/run/runtime/berth-runtime" delete --force "$id" >/dev/null 2>&1 || true
  done
  grep -o " $dir[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

for _ in $(seq 100); do
  curl -sf --unix-socket "$sock" http://x/_ping >/dev/null 2>&1 && break
  sleep 0.1
done
DOCKER_HOST="unix://$sock" docker load -q -i .testdata/busybox.tar >/dev/null
# A real container and image for the path parameters, so that requests reach the engine's logic
# (update, start, restart, top, archive, commit…) rather than a 404. Requests may remove or
# rename it: what follows then gets 404s, which is fine.
# --init: it stops at SIGTERM, so `stop?t=N` answers at once rather than after N seconds.
DOCKER_HOST="unix://$sock" docker run -d --init --name fuzzbox busybox sleep 100000 >/dev/null
cat > "$dir/schemathesis.toml" <<'EOF'
[parameters]
"path.id" = "fuzzbox"
"path.name" = "busybox"
EOF

# Not fuzzed: hijacked and streamed connections (attach, exec start, events, logs, stats), long
# polls (wait), tar bodies schemathesis cannot make (load), and
# everything that would contact a registry (pull, push, auth, search, distribution) or build.
# Nor what Berth answers 501 for (networks and volumes arrive with their issues; swarm, plugins).
exclude='^/(containers/\{id\}/(attach|attach/ws|logs|stats|wait)|exec/\{id\}/start|events|images/create|images/load|images/\{name\}/push|images/search|auth|distribution/.*|build|build/prune|session|grpc|(networks|volumes|swarm|nodes|services|tasks|secrets|configs|plugins)(/.*)?)$'
# Keeps the container and image the parameters name in place while the fuzzer removes them.
keeper() {
  while [ -f "$dir/fuzzing" ]; do
    if ! DOCKER_HOST="unix://$sock" timeout 20 docker image inspect busybox >/dev/null 2>&1; then
      DOCKER_HOST="unix://$sock" timeout 60 docker load -q -i .testdata/busybox.tar >/dev/null 2>&1 || true
    fi
    if [ "$(DOCKER_HOST="unix://$sock" timeout 20 docker inspect -f '{{.State.Running}}' fuzzbox 2>/dev/null)" != true ]; then
      DOCKER_HOST="unix://$sock" timeout 20 docker rm -f fuzzbox >/dev/null 2>&1 || true
      DOCKER_HOST="unix://$sock" timeout 20 docker run -d --init --name fuzzbox busybox sleep 100000 >/dev/null 2>&1 || true
    fi
    sleep 1
  done
}
touch "$dir/fuzzing"
keeper &
keeper_pid=$!
started=$(date +%s)
set +e
# From the scratch directory: schemathesis keeps a cache in its working directory.
(cd "$dir" && "$st" --config-file "$dir/schemathesis.toml" run "$spec" --url "http://127.0.0.1:$port/v1.50" \
  --exclude-path-regex "$exclude" \
  --checks not_a_server_error --max-examples "$examples" --max-time "$budget" \
  --phases coverage,fuzzing,stateful --request-timeout 20 --workers 2 --seed 7 --suppress-health-check all --no-shrink \
  --report ndjson --report-ndjson-path "$dir/events.ndjson") > "$dir/st.log" 2>&1
status=$?
set -e
rm -f "$dir/fuzzing"
wait "$keeper_pid" || true
elapsed=$(( $(date +%s) - started ))

alive=no
kill -0 "$daemon" 2>/dev/null && curl -sf --unix-socket "$sock" http://x/_ping >/dev/null && alive=yes
summary=$(python3 - "$dir/events.ndjson" <<'EOF'
import collections, json, sys
requests, operations, server_errors, statuses, unanswered = 0, set(), collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    event = json.loads(line)
    for kind, body in event.items():
        if kind == "ScenarioFinished":
            recorder = body.get("recorder") or {}
            label = recorder.get("label") or ""
            for interaction in (recorder.get("interactions") or {}).values():
                response = interaction.get("response") or {}
                requests += 1
                # 0: no response within the request timeout (or the connection failed).
                status = response.get("status_code") or 0
                statuses[status] += 1
                if status == 0:
                    unanswered[(interaction.get("request") or {}).get("uri", "?").split("/v1.50", 1)[-1][:120]] += 1
                operations.add(label)
                if (response.get("status_code") or 0) >= 500:
                    server_errors[f"{label} {response.get('status_code')}"] += 1
print(f"requests={requests} operations={len(operations)} server_errors={sum(server_errors.values())} "
      f"no_response={statuses[0]} statuses={dict(sorted(statuses.items()))}")
for label, count in server_errors.most_common(20):
    print(f"  {count:5d}  {label}")
for uri, count in unanswered.most_common(10):
    print(f"  {count:5d}  unanswered: {uri}")
EOF
)
tail -25 "$dir/st.log"
[ -n "${FUZZ_KEEP:-}" ] && mkdir -p "$FUZZ_KEEP" && cp "$dir/st.log" "$dir/events.ndjson" "$dir/berthd.log" "$FUZZ_KEEP"/
echo "fuzz-api: $summary in ${elapsed}s; daemon alive and serving: $alive; schemathesis exit $status"
if grep -q "Fatal error\|panicked\|Fatal error in" "$dir/berthd.log"; then
  echo "fuzz-api: berthd log shows a crash:" >&2
  tail -30 "$dir/berthd.log" >&2
  exit 1
fi
[ "$alive" = yes ] || { echo "fuzz-api: berthd died" >&2; tail -30 "$dir/berthd.log" >&2; exit 1; }
# The gate is the daemon's survival. A 5xx with a message is a handled error (dockerd answers 500
# too, say, when `ps` rejects ps_args), and an unanswered request may be a long poll that outlived
# the request timeout; both are listed above for triage, and --strict fails on them.
if [ "$strict" = yes ]; then
  case "$summary" in *"no_response=0 "*) ;; *) echo "fuzz-api: requests went unanswered (--strict)" >&2; exit 1 ;; esac
  [ "$status" = 0 ] || { echo "fuzz-api: 5xx answers (--strict)" >&2; exit 1; }
fi
exit 0
