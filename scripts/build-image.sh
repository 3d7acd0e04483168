#!/usr/bin/env bash
# Builds the agent image from the Dockerfile without a registry, then (--check) runs it. Run as root.
#   scripts/build-image.sh            debootstrap a Debian bookworm base (once), tag it debian:bookworm,
#                                     buildah bud the Dockerfile into virtsnap/virtsnap-controller:<version>
#   scripts/build-image.sh --check    the same, then scripts/check-image.sh on the image
# Where a registry is reachable none of this is needed: `docker build -t ... .` (README, "The agent image").
# Environment: VIRTSNAP_IMAGE (default virtsnap/virtsnap-controller:<project version>), JOBS (compile
# jobs inside the build, default nproc), VIRTSNAP_DEBIAN_MIRROR (default: the machine's apt mirror).
# The build stage compiles without ccache (143 steps; measured 2,065 s for the whole bud under nice -n 19 on
# 2 cores shared with other builds), so it runs under nice -n 19; --layers keeps it when only the final stage changes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
check=0
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    *)
      echo "usage: $0 [--check]" >&2
      exit 2
      ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "build-image.sh: run as root (debootstrap and buildah's chroot isolation need it)" >&2
  exit 1
fi

version=$(sed -n 's/^project(virtsnap VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
image=${VIRTSNAP_IMAGE:-virtsnap/virtsnap-controller:$version}
# The Dockerfile's FROM debian:bookworm, spelt as Docker resolves it, so that --pull=never finds it.
base=docker.io/library/debian:bookworm
jobs=${JOBS:-$(nproc)}

missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-image.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The machine's Debian mirror: the first source for the bookworm suite (one-line or deb822 format).
mirror() {
  local uri
  uri=$(grep -hE '^deb +(\[[^]]*\] +)?https?://[^ ]+ +bookworm( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    2>/dev/null | head -n 1 | sed -E 's/^deb +(\[[^]]*\] +)?//; s/ .*//') || true
  if [ -z "$uri" ]; then
    uri=$(awk '/^URIs:/ {u = $2} /^Suites:/ && / bookworm( |$)/ && u != "" {print u; exit}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null) || true
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if buildah inspect --type image "$base" >/dev/null 2>&1; then
  echo "build-image.sh: $base exists, not bootstrapped again"
else
  debian_mirror=${VIRTSNAP_DEBIAN_MIRROR:-$(mirror)}
  rootfs=$(mktemp -d /var/tmp/virtsnap-bookworm.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  started=$SECONDS
  echo "build-image.sh: debootstrap --variant=minbase bookworm from $debian_mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$debian_mirror" >"$rootfs.log" 2>&1 ||
    { tail -n 20 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  # The machine's apt policy for its mirror goes with it (e.g. a frozen mirror whose Release files
  # are past Valid-Until); nothing else of the host's configuration does.
  apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$rootfs/etc/apt/apt.conf.d/99mirror" || true
  [ -s "$rootfs/etc/apt/apt.conf.d/99mirror" ] || rm -f "$rootfs/etc/apt/apt.conf.d/99mirror"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  echo "build-image.sh: debootstrap took $((SECONDS - started)) s"
  container=$(buildah from scratch)
  mountpoint=$(buildah mount "$container")
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mountpoint" --numeric-owner -xpf -
  buildah umount "$container" >/dev/null
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --os linux --arch amd64 "$container"
  buildah commit --quiet --rm "$container" "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  echo "build-image.sh: committed $base"
fi

started=$SECONDS
echo "build-image.sh: buildah bud -t $image (JOBS=$jobs, under nice -n 19)"
nice -n 19 buildah bud --pull=never --isolation chroot --layers --build-arg "JOBS=$jobs" \
  --build-arg "VERSION=$version" -t "$image" -f "$root/Dockerfile" "$root"
echo "build-image.sh: bud took $((SECONDS - started)) s"
buildah images "$image"

if [ "$check" -eq 1 ]; then
  "$root/scripts/check-image.sh" "$image"
fi
