#!/usr/bin/env bash
# The deploy manifests (deploy/) and the Helm chart (helm/virtsnap) as a user's tools see them. One check per
# call, each a CTest test (tests/CMakeLists.txt):
#   copies      deploy/crds and helm/virtsnap/crds identical to crds/; the chart's alerts file identical to
#               deploy/monitoring/prometheus-rule.yaml once that exists; the chart's RBAC rules equal to deploy/'s
#   render      helm lint; helm template with default and non-default values; kubectl kustomize deploy/;
#               yamllint over every rendered stream; every rendered object validated against the Kubernetes
#               OpenAPI schemas (kubernetes-models)
#   yamllint    yamllint over every YAML file of the repository (Helm templates excepted: .yamllint)
#   dry-run     the CRDs served by the API server binary and the examples accepted with kubectl --dry-run=server
#   argocd      deploy/argocd/health.lua run by lua5.4 on the fixtures in deploy/argocd/testdata
# A tool that is missing fails the check under CI (CI=true) and skips it (exit 77) elsewhere.
# Usage: check_deploy.sh CHECK [APISERVER_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
tools=${VIRTSNAP_TOOLS_DIR:-${XDG_CACHE_HOME:-$home/.cache}/virtsnap/tools}
work=$(mktemp -d "${TMPDIR:-/tmp}/virtsnap-deploy-check.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Skips (77) on a developer machine, fails under CI.
missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: $1 is missing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
  echo "SKIP: $1 is missing; run scripts/setup.sh as root to install it" >&2
  exit 77
}

helm_binary() {
  if [ -x "$tools/helm/helm" ]; then
    echo "$tools/helm/helm"
  elif command -v helm >/dev/null 2>&1; then
    command -v helm
  else
    missing "helm (~/.cache/virtsnap/tools/helm/helm)"
  fi
}

need() {
  command -v "$1" >/dev/null 2>&1 || missing "$1"
}

# The chart rendered with non-default values: every toggle flipped, two storage roots, tolerations.
nondefault_values() {
  cat >"$work/values-nondefault.yaml" <<'VALUES'
image:
  repository: registry.example.com/virtsnap/agent
  tag: "0.2.0"
  pullPolicy: Always
imagePullSecrets:
  - name: registry-credentials
libvirtUri: qemu+unix:///system?socket=/var/run/libvirt/virtqemud-sock
storageRoots:
  - /var/lib/libvirt/images
  - /srv/vm-images
storagePool: images
nodeSelector:
  kubernetes.io/os: linux
  node-role.example.com/hypervisor: ""
tolerations:
  - key: node-role.example.com/hypervisor
    operator: Exists
    effect: NoSchedule
resources:
  requests:
    cpu: 100m
    memory: 128Mi
  limits:
    cpu: "1"
    memory: 512Mi
podSecurityContext:
  runAsUser: 65532
  runAsGroup: 65532
  runAsNonRoot: true
  supplementalGroups: [108]
  seccompProfile:
    type: RuntimeDefault
extraArgs: ["--log-format=json"]
admissionPolicy:
  enabled: false
metrics:
  enabled: true
  port: 9090
  serviceMonitor:
    enabled: true
    interval: 15s
    labels:
      release: prometheus
VALUES
}

check_copies() {
  local failed=0
  for crd in crds/virtsnap.io_*.yaml; do
    for copy in deploy/crds helm/virtsnap/crds; do
      if ! cmp -s "$crd" "$copy/$(basename "$crd")"; then
        echo "$copy/$(basename "$crd") differs from $crd (copy it: cp crds/virtsnap.io_*.yaml $copy/)" >&2
        failed=1
      fi
    done
  done
  for copy in deploy/crds helm/virtsnap/crds; do
    for file in "$copy"/*.yaml; do
      [ -e "crds/$(basename "$file")" ] || {
        echo "$file has no original in crds/" >&2
        failed=1
      }
    done
  done
  # The alerts: the chart templates its PrometheusRule from a copy of deploy/monitoring's (Helm reads no
  # file outside the chart).
  if [ -e deploy/monitoring/prometheus-rule.yaml ] || [ -e helm/virtsnap/files/prometheus-rule.yaml ]; then
    if ! cmp -s deploy/monitoring/prometheus-rule.yaml helm/virtsnap/files/prometheus-rule.yaml; then
      echo "helm/virtsnap/files/prometheus-rule.yaml differs from deploy/monitoring/prometheus-rule.yaml" >&2
      failed=1
    fi
  fi
  # The chart's RBAC rules are deploy/rbac.yaml's, which the agent's request test checks.
  if ! diff <(sed -n '/^rules:/,/^---/p' deploy/rbac.yaml | grep -v '^ *#') \
    <(sed -n '/^rules:/,/^---/p' helm/virtsnap/templates/rbac.yaml | grep -v '^ *#'); then
    echo "the chart's RBAC rules (helm/virtsnap/templates/rbac.yaml) differ from deploy/rbac.yaml's" >&2
    failed=1
  fi
  [ "$failed" -eq 0 ] && echo "copies: CRDs, alerts file and RBAC rules identical"
  return "$failed"
}

check_render() {
  local helm
  helm=$(helm_binary)
  need kubectl
  need yamllint
  need node
  [ -d "$tools/node/node_modules/kubernetes-models" ] || missing "kubernetes-models (~/.cache/virtsnap/tools/node/node_modules)"
  [ -d "$tools/node/node_modules/yaml" ] || missing "the npm package yaml (~/.cache/virtsnap/tools/node/node_modules)"
  nondefault_values

  "$helm" lint --strict helm/virtsnap
  "$helm" lint --strict helm/virtsnap -f "$work/values-nondefault.yaml"
  "$helm" template virtsnap helm/virtsnap --namespace virtsnap-system --include-crds >"$work/helm-default.yaml"
  "$helm" template vs helm/virtsnap --namespace hypervisors --include-crds \
    -f "$work/values-nondefault.yaml" >"$work/helm-nondefault.yaml"
  kubectl kustomize deploy/ >"$work/kustomize.yaml"

  # The non-default values reached the objects.
  local expect
  for expect in 'image: "registry.example.com/virtsnap/agent:0.2.0"' '--allowed-storage-root=/srv/vm-images' \
    '--metrics-bind-address=:9090' 'kind: ServiceMonitor' 'key: node-role.example.com/hypervisor' \
    'runAsNonRoot: true' '--storage-pool=images' 'namespace: hypervisors' '"--log-format=json"'; do
    grep -qF -- "$expect" "$work/helm-nondefault.yaml" || {
      echo "helm template with non-default values: no '$expect'" >&2
      return 1
    }
  done
  grep -q 'kind: ValidatingAdmissionPolicy$' "$work/helm-nondefault.yaml" &&
    { echo "admissionPolicy.enabled=false still renders the policy" >&2; return 1; }
  grep -q 'kind: ServiceMonitor' "$work/helm-default.yaml" &&
    { echo "the default values render a ServiceMonitor (off by default)" >&2; return 1; }
  # alerts.enabled: templated from files/prometheus-rule.yaml, or refused with a message while it is not there.
  if [ -e helm/virtsnap/files/prometheus-rule.yaml ]; then
    "$helm" template vs helm/virtsnap --namespace hypervisors --set alerts.enabled=true >"$work/helm-alerts.yaml"
    grep -q 'kind: PrometheusRule' "$work/helm-alerts.yaml" || { echo "alerts.enabled renders no PrometheusRule" >&2; return 1; }
  else
    if "$helm" template vs helm/virtsnap --set alerts.enabled=true >"$work/helm-alerts.yaml" 2>"$work/helm-alerts.err"; then
      echo "alerts.enabled rendered without files/prometheus-rule.yaml" >&2
      return 1
    fi
    grep -q 'needs files/prometheus-rule.yaml' "$work/helm-alerts.err" || { cat "$work/helm-alerts.err" >&2; return 1; }
    echo "alerts: files/prometheus-rule.yaml not in the chart yet; alerts.enabled=true refuses with its message"
  fi

  yamllint -s -c tests/deploy/yamllint-rendered.yaml "$work"/helm-*.yaml "$work/kustomize.yaml"
  local files=("$work/helm-default.yaml" "$work/helm-nondefault.yaml" "$work/kustomize.yaml")
  [ -e "$work/helm-alerts.yaml" ] && [ -s "$work/helm-alerts.yaml" ] && files+=("$work/helm-alerts.yaml")
  NODE_PATH="$tools/node/node_modules" node tests/deploy/validate_models.mjs "${files[@]}"
  echo "render: helm lint (2 value sets), helm template, kubectl kustomize, yamllint and schemas passed"
}

check_yamllint() {
  need yamllint
  yamllint -s -c .yamllint .
  echo "yamllint: $(git ls-files '*.yaml' '*.yml' | grep -vc '^helm/virtsnap/templates/') files clean"
}

check_dry_run() {
  local apiserver=${1:?the API server binary}
  need kubectl
  # The API server loads the chart's CRD copies (identical to crds/ and deploy/crds, check "copies"): it
  # serves only kinds whose CustomResourceDefinition it accepted.
  "$apiserver" --crd-dir helm/virtsnap/crds --data-dir "$work/data" >"$work/apiserver.log" 2>&1 &
  server_pid=$!
  local i
  for i in $(seq 1 300); do
    [ -s "$work/data/kubeconfig" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/apiserver.log" >&2; return 1; }
    sleep 0.1
  done
  [ -s "$work/data/kubeconfig" ] || { echo "the API server wrote no kubeconfig in 30 s" >&2; return 1; }
  local k=(kubectl --kubeconfig "$work/data/kubeconfig" --cache-dir "$work/kube-cache" --request-timeout 20s)
  "${k[@]}" api-resources --api-group virtsnap.io -o name | sort >"$work/served"
  printf '%s\n' domains.virtsnap.io snapshotreverts.virtsnap.io snapshots.virtsnap.io >"$work/expected"
  diff "$work/expected" "$work/served" || { echo "the API server does not serve the three kinds" >&2; return 1; }
  # The examples' namespaces exist (they are the user's); then every example, server-side, changing nothing.
  local ns
  for ns in $(grep -h '^  namespace:' deploy/examples/*.yaml | awk '{print $2}' | sort -u); do
    "${k[@]}" create namespace "$ns" >/dev/null
  done
  "${k[@]}" apply --dry-run=server -f deploy/examples/ | tee "$work/applied"
  local objects
  objects=$(cat deploy/examples/*.yaml | grep -c '^kind:')
  [ "$(grep -c 'created (server dry run)' "$work/applied")" -eq "$objects" ] ||
    { echo "expected $objects objects created (server dry run)" >&2; return 1; }
  [ -z "$("${k[@]}" get domains,snapshots,snapshotreverts -A -o name)" ] ||
    { echo "the dry run stored objects" >&2; return 1; }
  echo "dry-run: 3 CRDs served, $objects example objects accepted by --dry-run=server"
}

check_argocd() {
  need lua5.4
  need node
  [ -d "$tools/node/node_modules/yaml" ] || missing "the npm package yaml (~/.cache/virtsnap/tools/node/node_modules)"
  local fixture expected actual count=0 failed=0
  for fixture in deploy/argocd/testdata/*.yaml; do
    expected=$(sed -n 's/^# expect: //p' "$fixture" | head -1)
    [ -n "$expected" ] || { echo "$fixture has no '# expect:' line" >&2; return 1; }
    NODE_PATH="$tools/node/node_modules" node tests/deploy/yaml_to_lua.mjs "$fixture" >"$work/object.lua"
    actual=$(lua5.4 tests/deploy/argocd_health_run.lua "$work/object.lua" deploy/argocd/health.lua)
    count=$((count + 1))
    if [ "$actual" != "$expected" ]; then
      echo "$fixture: Argo CD would show '$actual', expected '$expected'" >&2
      failed=1
    else
      echo "$(basename "$fixture"): $actual"
    fi
  done
  [ "$failed" -eq 0 ] && echo "argocd: $count fixtures, health as expected"
  return "$failed"
}

case "${1:-}" in
  copies) check_copies ;;
  render) check_render ;;
  yamllint) check_yamllint ;;
  dry-run) check_dry_run "${2:-}" ;;
  argocd) check_argocd ;;
  *)
    echo "usage: $0 copies|render|yamllint|dry-run APISERVER|argocd" >&2
    exit 2
    ;;
esac
