#!/usr/bin/env bash
# Runs the agent image built by scripts/build-image.sh (run as root) in a buildah container with chroot
# isolation (the host's network): the default user, `virtsnap-controller --help`, a standalone agent that
# reports ready and exits (--exit-when-ready), the same as uid 0 with no capabilities (the DaemonSet's
# securityContext), and a standalone agent that serves /readyz 200 and the API (through the kubeconfig it
# wrote, the quick start's Domain and Snapshots become Ready and the image's kubectl-virtsnap prints their
# tree), then stops on SIGTERM with status 0. Too slow for scripts/test.sh (the image takes minutes to
# build); run it by hand (~20 s):
#   scripts/check-image.sh [IMAGE]        (default virtsnap/virtsnap-controller:<project version>)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^project(virtsnap VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
image=${1:-${VIRTSNAP_IMAGE:-virtsnap/virtsnap-controller:$version}}
work=$(mktemp -d)
container=""
agent_runner=""
cleanup() {
  if [ -n "$agent_runner" ] && kill -0 "$agent_runner" 2>/dev/null; then
    kill "$agent_runner" 2>/dev/null || true
  fi
  [ -z "$container" ] || buildah rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-image.sh: FAILED: $*" >&2
  exit 1
}
started=$SECONDS

echo "check-image.sh: $image, $(buildah images --format '{{.Size}}' "$image" | head -n 1)"
container=$(buildah from --pull=never --quiet "$image")
run() { buildah run --isolation chroot "$container" -- "$@"; }

# The image's default user is the non-root virtsnap (65532); the DaemonSet overrides it with uid 0.
uid=$(run id -u)
[ "$uid" = 65532 ] || fail "the default user is uid $uid, not 65532"
echo "check-image.sh: default user uid $uid ($(run id -un))"

run virtsnap-controller --help >"$work/help" || fail "--help exited $?"
grep -q '^Usage: virtsnap-controller' "$work/help" || fail "--help printed no usage: $(head -n 3 "$work/help")"
grep -q -- '--standalone' "$work/help" || fail "--help lists no --standalone"
run kubectl-virtsnap --help >"$work/plugin-help" 2>&1 || fail "kubectl-virtsnap --help exited $?"
echo "check-image.sh: virtsnap-controller --help and kubectl-virtsnap --help OK"

# A standalone agent (the embedded API server on libvirt's test driver) from the image's working directory
# with the default --crd-dir, until it is ready.
t=$SECONDS
timeout 120 buildah run --isolation chroot "$container" -- virtsnap-controller --standalone \
  --data-dir /tmp/ready-once --metrics-bind-address 0 --health-probe-bind-address 0 --exit-when-ready \
  >"$work/ready-once.log" 2>&1 || { cat "$work/ready-once.log" >&2; fail "--standalone --exit-when-ready exited $?"; }
grep -q 'standalone API on https://127.0.0.1:' "$work/ready-once.log" ||
  { cat "$work/ready-once.log" >&2; fail "no standalone API line"; }
echo "check-image.sh: --standalone --exit-when-ready: ready and exited 0 in $((SECONDS - t)) s"

# As deploy/daemonset.yaml runs it: uid 0 with every capability dropped (no CAP_DAC_OVERRIDE: the working
# directory, binaries and CRDs must be readable by their mode bits alone).
t=$SECONDS
# shellcheck disable=SC2016  # expanded by the shell in the container
buildah run --isolation chroot --user 0:0 --cap-drop ALL "$container" -- sh -c \
  'grep -q "^CapEff:[[:space:]]*0*$" /proc/self/status || { echo "capabilities left: $(grep CapEff /proc/self/status)"; exit 1; }
   exec virtsnap-controller --standalone --data-dir /tmp/as-root --metrics-bind-address 0 \
     --health-probe-bind-address 0 --exit-when-ready' >"$work/as-root.log" 2>&1 ||
  { cat "$work/as-root.log" >&2; fail "as uid 0 without capabilities the agent exited $?"; }
echo "check-image.sh: as uid 0 with no capabilities (the DaemonSet's securityContext): ready in $((SECONDS - t)) s"

# The same, serving its probes: /readyz from the host (chroot isolation shares its network), the API through
# the kubeconfig the agent wrote in the container (its kinds, the quick start's Domain and Snapshots Ready,
# their tree from the image's kubectl-virtsnap), then SIGTERM to the agent.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t=$SECONDS
buildah run --isolation chroot "$container" -- virtsnap-controller --standalone --data-dir /tmp/agent \
  --metrics-bind-address 0 --health-probe-bind-address "127.0.0.1:$port" >"$work/agent.log" 2>&1 &
agent_runner=$!
ready=0
deadline=$((SECONDS + 90))
while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$agent_runner" 2>/dev/null; do
  if curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz" >"$work/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2  # polling a process in another root: no condition to wait on but the probe itself
done
[ "$ready" -eq 1 ] || { cat "$work/agent.log" >&2; fail "/readyz on 127.0.0.1:$port never answered 200"; }
echo "check-image.sh: /readyz 200 after $((SECONDS - t)) s: $(tr '\n' ' ' <"$work/readyz")"

rootfs=$(buildah mount "$container")
kubeconfig=$rootfs/tmp/agent/kubeconfig
[ -f "$kubeconfig" ] || kubeconfig=$(find "$rootfs/tmp/agent" -maxdepth 2 -name '*kubeconfig*' | head -n 1)
if command -v kubectl >/dev/null 2>&1; then
  kubectl_in() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/kube-cache" --request-timeout 20s "$@"; }
  kinds=$(kubectl_in api-resources --api-group virtsnap.io -o name)
  for kind in domains snapshots snapshotreverts; do
    grep -qx "$kind.virtsnap.io" <<<"$kinds" || fail "the standalone API serves no $kind: $kinds"
  done
  echo "check-image.sh: kubectl through the agent's kubeconfig: $(tr '\n' ' ' <<<"$kinds")served"
  # The quick start's Domain and three Snapshots, made on libvirt's test driver inside the image's libvirt0,
  # and their tree as the image's kubectl-virtsnap prints it.
  t=$SECONDS
  q=$root/deploy/quickstart
  kubectl_in apply -f "$q/00-namespace.yaml" -f "$q/10-domain.yaml" -f "$q/20-snapshots.yaml" >/dev/null
  kubectl_in wait --for=condition=Ready --timeout=60s -n quickstart domain/demo snapshot/a-installed \
    snapshot/b-configured snapshot/c-tested >/dev/null || { cat "$work/agent.log" >&2; fail "the quick start is not Ready"; }
  run kubectl-virtsnap tree demo -n quickstart --kubeconfig /tmp/agent/kubeconfig >"$work/tree" 2>&1 ||
    fail "kubectl-virtsnap tree exited $?: $(cat "$work/tree")"
  for snapshot in a-installed b-configured 'c-tested \*'; do
    grep -q "$snapshot" "$work/tree" || fail "kubectl-virtsnap tree shows no $snapshot: $(cat "$work/tree")"
  done
  echo "check-image.sh: quick start Ready in $((SECONDS - t)) s; kubectl-virtsnap tree in the image:"
  sed 's/^/    /' "$work/tree"
fi
buildah umount "$container" >/dev/null

# SIGTERM to the agent itself: buildah run does not forward it (it kills its child), so the agent is found
# among buildah run's descendants (buildah-chroot-runtime, buildah-chroot-exec, the agent).
agent_pid=""
for _ in $(seq 50); do
  level=$agent_runner
  while [ -n "$level" ] && [ -z "$agent_pid" ]; do
    # shellcheck disable=SC2086  # $level is a list of pids
    agent_pid=$(ps -o pid=,comm= --ppid "$(tr ' ' ',' <<<$level)" | awk '$2 == "virtsnap-contro" {print $1; exit}')
    level=$(ps -o pid= --ppid "$(tr ' ' ',' <<<"$level")" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
  done
  [ -n "$agent_pid" ] && break
  sleep 0.1
done
[ -n "$agent_pid" ] || fail "found no virtsnap-controller process under buildah run ($agent_runner)"
kill -TERM "$agent_pid"
status=0
wait "$agent_runner" || status=$?
agent_runner=""
[ "$status" -eq 0 ] || { cat "$work/agent.log" >&2; fail "the agent exited $status after SIGTERM"; }
grep -q 'stopping' "$work/agent.log" || { cat "$work/agent.log" >&2; fail "the agent logged no stop"; }
echo "check-image.sh: SIGTERM: the agent stopped with status 0"
echo "check-image.sh: OK in $((SECONDS - started)) s"
