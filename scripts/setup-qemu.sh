#!/usr/bin/env bash
# Installs real QEMU/KVM and libvirtd for the end-to-end tests (tests/e2e/README.md). Idempotent and
# quiet; run as root. libvirt 11.3 and QEMU 10 come from bookworm-backports through the same pin as
# scripts/setup.sh (scripts/lib/apt-backports.sh). Installing libvirt-daemon-system pulls
# systemd-container and udev (via libvirt-daemon-driver-nodedev -> mdevctl); their newest bookworm
# builds would upgrade systemd itself, so they are asked for at the installed systemd's version, and
# a dry run (apt-get -s) must show no systemd/udev upgrade before anything is installed.
# No daemon is started here (scripts/start-libvirtd.sh does that).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-qemu.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# shellcheck source=scripts/lib/apt-backports.sh
. "$(dirname "$0")/lib/apt-backports.sh"
ensure_backports_pin

# tini: scripts/start-libvirtd.sh runs libvirtd under `tini -s` so that dead QEMU processes are reaped
# at once (see there).
packages=(
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils tini
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# libvirt must be the backports build (>= 11: external snapshot revert), not bookworm's 9.0.
for p in libvirt-daemon-system libvirt-clients; do
  if dpkg-query -W -f='${Version}' "$p" 2>/dev/null | grep -q '^9\.'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "$apt_sources_changed" -eq 0 ]; then
  exit 0
fi
apt-get update -qq
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

# Hold systemd where it is: ask for systemd-container and udev at the installed systemd version.
extra=()
systemd_version=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null || true)
if [ -n "$systemd_version" ]; then
  for p in systemd-container udev; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      continue
    fi
    if ! apt-cache show "$p=$systemd_version" >/dev/null 2>&1; then
      echo "setup-qemu.sh: $p $systemd_version (the installed systemd's version) is not in the archive;" \
        "installing libvirtd would upgrade systemd, refusing" >&2
      exit 1
    fi
    extra+=("$p=$systemd_version")
  done
fi

plan=$(apt-get -s install -y --no-install-recommends "${missing[@]}" "${extra[@]}")
# "Inst NAME [OLD] (NEW ...)" is an upgrade of an installed package; "Remv" a removal.
if grep -Eq '^Inst [^ ]*(systemd|udev)[^ ]* \[' <<<"$plan" || grep -Eq '^Remv ' <<<"$plan"; then
  echo "setup-qemu.sh: refusing, the install would upgrade or remove system packages:" >&2
  grep -E '^(Inst [^ ]* \[|Remv )' <<<"$plan" >&2
  exit 1
fi

# Keep the packages' maintainer scripts from starting daemons (there is no systemd here).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=1
fi
trap 'if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi' EXIT

echo "setup-qemu.sh: installing ${missing[*]} ${extra[*]}"
log=$(mktemp)
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" "${extra[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"

echo "setup-qemu.sh: libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon-system)," \
  "QEMU $(dpkg-query -W -f='${Version}' qemu-system-x86), systemd ${systemd_version:-none} (unchanged)"
