#!/usr/bin/env bash
# Stops libvirtd and virtlogd started by scripts/start-libvirtd.sh. Idempotent; run as root.
# With --destroy-domains it first destroys every running domain of qemu:///system (a QEMU process
# outlives libvirtd otherwise). Domain definitions, snapshot metadata and images are left alone.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "stop-libvirtd.sh: run as root" >&2
  exit 1
fi

stop() { # pidfile name
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 0
    sleep 0.2
  done
  echo "stop-libvirtd.sh: $2 ($pid) did not stop within 30 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "${1:-}" = "--destroy-domains" ] && [ -S /run/libvirt/libvirt-sock ]; then
  for dom in $(virsh -c qemu:///system list --name 2>/dev/null); do
    virsh -c qemu:///system destroy "$dom" >/dev/null
  done
fi

stop /run/libvirtd.pid libvirtd
stop /run/virtlogd.pid virtlogd
if pgrep -f '^/usr/bin/qemu-system-' >/dev/null; then
  echo "stop-libvirtd.sh: QEMU processes are still running (use --destroy-domains)" >&2
fi
echo "stop-libvirtd.sh: libvirtd and virtlogd stopped"
