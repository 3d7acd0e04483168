#!/usr/bin/env bash
# Starts virtlogd and libvirtd (qemu:///system) for the end-to-end tests, without systemd. Idempotent;
# run as root after scripts/setup-qemu.sh. Prints the libvirt and QEMU versions when the daemon answers.
#
# - /dev/kvm becomes root:kvm 0660 before libvirtd starts: QEMU runs as libvirt-qemu (whose primary
#   group is kvm; Debian's defaults in /etc/libvirt/qemu.conf are kept), and a /dev/kvm it cannot open
#   makes libvirt re-probe QEMU on every call and offer only TCG.
# - libvirtd runs in the foreground under `tini -s` (a child subreaper) when tini is installed: QEMU
#   daemonizes, and on a machine whose PID 1 reaps orphans lazily a dead QEMU stays a zombie for
#   1-2 s, which libvirt waits out on every destroy and revert. Without tini it falls back to
#   `libvirtd -d`.
# - The first call after a start probes QEMU when the capabilities cache is stale (~8 s); later ones
#   take milliseconds.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "start-libvirtd.sh: run as root" >&2
  exit 1
fi
for tool in libvirtd virtlogd virsh; do
  if ! command -v "$tool" >/dev/null; then
    echo "start-libvirtd.sh: $tool not found; run scripts/setup-qemu.sh first" >&2
    exit 1
  fi
done

running() { # pidfile name
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

if [ -c /dev/kvm ]; then
  chgrp kvm /dev/kvm
  chmod 0660 /dev/kvm
else
  echo "start-libvirtd.sh: no /dev/kvm, only <domain type='qemu'> (TCG) will work" >&2
fi

mkdir -p /var/log/libvirt
if ! running /run/virtlogd.pid virtlogd; then
  virtlogd -d
fi
launcher=
if ! running /run/libvirtd.pid libvirtd; then
  rm -f /run/libvirtd.pid
  if command -v tini >/dev/null; then
    setsid tini -s -- libvirtd </dev/null >/dev/null 2>>/var/log/libvirt/libvirtd.log &
    launcher=$!
  else
    libvirtd -d
  fi
fi

deadline=$((SECONDS + 90))
until out=$(virsh -c qemu:///system version 2>&1); do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "start-libvirtd.sh: libvirtd did not answer within 90 s: $out" >&2
    exit 1
  fi
  if grep -q 'no connection driver available' <<<"$out"; then
    echo "start-libvirtd.sh: libvirtd has no QEMU driver ($out); run scripts/setup-qemu.sh" >&2
    exit 1
  fi
  if [ -n "$launcher" ] && ! kill -0 "$launcher" 2>/dev/null; then
    echo "start-libvirtd.sh: libvirtd exited; see /var/log/libvirt/libvirtd.log" >&2
    exit 1
  fi
  sleep 0.2
done
libvirt=$(sed -n 's/^Using library: libvirt //p' <<<"$out")
qemu=$(sed -n 's/^Running hypervisor: QEMU //p' <<<"$out")
echo "start-libvirtd.sh: libvirtd ready (libvirt $libvirt, QEMU $qemu)"
