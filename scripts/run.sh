#!/usr/bin/env bash
# The main job on the embedded default: virtsnap-controller --standalone (the embedded API server and
# the agent in one process, on loopback, with libvirt's in-process test driver), the quick start of
# deploy/quickstart/ applied, and the resulting snapshot tree printed. It keeps running until Ctrl-C;
# --exit stops it after printing (for tests). Run it again and it finds its data directory
# (./virtsnap-data, or $VIRTSNAP_DATA_DIR): the Domains and their trees come back. The agent draws the
# trees on http://127.0.0.1:8081/tree ($VIRTSNAP_WEB_PORT picks another port).
set -euo pipefail
cd "$(dirname "$0")/.."

exit_after_print=false
[ "${1:-}" = "--exit" ] && exit_after_print=true
data_dir=$(realpath -m "${VIRTSNAP_DATA_DIR:-virtsnap-data}")
# The probes and the tree page (on by default in standalone mode), on loopback.
web_address="127.0.0.1:${VIRTSNAP_WEB_PORT:-8081}"
command -v kubectl >/dev/null || { echo "run.sh: kubectl is missing (kubectl >= 1.26 on PATH is needed)" >&2; exit 1; }

bash scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target virtsnap-controller >/dev/null

mkdir -p "$data_dir"
rm -f "$data_dir/kubeconfig"
build/controller/virtsnap-controller --standalone --data-dir "$data_dir" --crd-dir crds \
  --metrics-bind-address 0 --health-probe-bind-address "$web_address" --poll-period 5 >"$data_dir/agent.log" 2>&1 &
agent=$!
stop_agent() { kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null || true; }
trap stop_agent EXIT
trap 'exit 0' INT TERM

for _ in $(seq 600); do
  [ -s "$data_dir/kubeconfig" ] && break
  kill -0 "$agent" 2>/dev/null || { cat "$data_dir/agent.log" >&2; exit 1; }
  sleep 0.1
done
k() { kubectl --kubeconfig "$data_dir/kubeconfig" --cache-dir "$data_dir/kubectl-cache" "$@"; }

k apply -f deploy/quickstart/00-namespace.yaml -f deploy/quickstart/10-domain.yaml -f deploy/quickstart/20-snapshots.yaml
k wait --for=condition=Ready --timeout=120s -n quickstart domain/demo snapshot/a-installed snapshot/b-configured snapshot/c-tested
k apply -f deploy/quickstart/30-revert.yaml
k wait --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s -n quickstart snapshotrevert/back-to-configured
k apply -f deploy/quickstart/40-branch.yaml
k wait --for=condition=Ready --timeout=120s -n quickstart snapshot/d-experiment domain/demo
# The Domain's status is written after the snapshot's: wait until it counts all four.
k wait --for=jsonpath='{.status.snapshotCount}'=4 --timeout=60s -n quickstart domain/demo >/dev/null

echo
k get -n quickstart dom,snap
echo
echo "The tree of quickstart/demo (current marked *):"
k get -n quickstart domain/demo -o jsonpath='{range .status.snapshotTree[*]}{.name}{"\t"}{.parent}{"\t"}{.current}{"\n"}{end}' |
  awk -F'\t' '{ depth[$1] = ($2 == "" ? 0 : depth[$2] + 1); printf "%*s%s%s\n", 2 * depth[$1], "", $1, ($3 == "true" ? " *" : "") }'
echo
echo "Point kubectl at it:  export KUBECONFIG=$data_dir/kubeconfig"
echo "The tree, drawn:      http://$web_address/tree (a browser on this machine)"
echo "The agent's log:      $data_dir/agent.log"
if $exit_after_print; then
  exit 0
fi
echo "Stop it with Ctrl-C (the data stays in $data_dir; run again to get everything back)."
wait "$agent"
