# shellcheck shell=bash disable=SC2034  # apt_sources_changed is read by the scripts that source this
# Sourced by scripts/setup.sh and scripts/setup-qemu.sh (bash, as root).
# Ensures the bookworm-backports source and a pin limited to libvirt, QEMU and SeaBIOS, so that
# libvirt 11.3 and QEMU 10 come from backports while nothing else does (docs/design.md, Real components).
# Sets apt_sources_changed=1 when it wrote either file (the caller then runs apt-get update).

apt_sources_changed=0

ensure_backports_pin() {
  local backports=/etc/apt/sources.list.d/backports.list
  local pin=/etc/apt/preferences.d/libvirt-bpo
  if ! grep -qs 'bookworm-backports' "$backports"; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$backports"
    apt_sources_changed=1
  fi
  local want_pin=$'Package: libvirt* qemu-* seabios\nPin: release n=bookworm-backports\nPin-Priority: 990\n'
  if [ "$(cat "$pin" 2>/dev/null)"$'\n' != "$want_pin" ]; then
    printf '%s' "$want_pin" >"$pin"
    apt_sources_changed=1
  fi
}
