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
  curl python3-kubernetes  # integration tests: raw HTTP requests and a second real client (official Python client)
)

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
