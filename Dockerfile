# The agent image: virtsnap-controller (and the kubectl plugin kubectl-virtsnap) on Debian bookworm.
#   docker build -t virtsnap/virtsnap-controller:0.1.0 .       (or podman build; from the repository root)
#   scripts/build-image.sh                                    (no registry: a debootstrapped base, buildah)
# Two stages: "build" compiles the two binaries in Release without tests or benchmarks; the final stage
# holds them, the CRDs (for --standalone) and exactly the shared libraries the binaries name (DT_NEEDED,
# mapped to their Debian packages with dpkg -S in the build stage and installed at the same versions).
#
# libvirt: both stages take it from bookworm-backports (11.3) through the repository's own pin
# (scripts/lib/apt-backports.sh: libvirt*, qemu-*, seabios only). bookworm's libvirt0 9.0 could talk to a
# newer host libvirtd over the socket (the RPC protocol is stable, virConnectGetLibVersion reports the
# daemon's version), but the binary is built and tested against 11.3's headers, and --standalone runs
# libvirt's test driver inside this library, so the library is the one the test suite runs against.

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
# Parallel compile jobs (scripts/build-image.sh passes --build-arg JOBS=...).
ARG JOBS=2
COPY scripts/lib/apt-backports.sh /tmp/apt-backports.sh
# scripts/setup.sh's build packages without its test, lint and deploy-test tools.
RUN bash -c '. /tmp/apt-backports.sh && ensure_backports_pin' \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libcpprest-dev libssl-dev libboost-system-dev \
      nlohmann-json3-dev libxml2-dev libyaml-cpp-dev \
      libre2-dev libcli11-dev libspdlog-dev zlib1g-dev \
      prometheus-cpp-dev libvirt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the two binaries are built from (tests/ and bench/ are not configured: BUILD_TESTING=OFF,
# VIRTSNAP_BUILD_BENCH=OFF), so a change to docs or tests does not recompile.
COPY CMakeLists.txt ./
COPY cmake cmake
COPY base base
COPY crds crds
COPY drivers drivers
COPY reconcilers reconcilers
COPY controller controller
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DVIRTSNAP_BUILD_BENCH=OFF \
 && cmake --build build -j "$JOBS" --target virtsnap-controller kubectl-virtsnap \
 && mkdir -p /out/bin /out/crds \
 && install -m 0755 -s build/controller/virtsnap-controller build/controller/kubectl-virtsnap /out/bin/ \
 && cp crds/virtsnap.io_*.yaml /out/crds/
# The runtime packages: every library the binaries name, found by dpkg -S, at the version linked here.
RUN multiarch=$(gcc -print-multiarch) \
 && objdump -p /out/bin/* | awk '$1 == "NEEDED" {print $2}' | sort -u >/out/needed-libraries \
 && while read -r lib; do \
      owners=$(dpkg -S "*/$multiarch/$lib") || { echo "no package holds $lib" >&2; exit 1; }; \
      echo "$owners" | sed 's/: .*//' | tr ',' '\n' | sed 's/^ *//; s/:.*//' | head -n 1; \
    done </out/needed-libraries >/out/runtime-package-names \
 && sort -u /out/runtime-package-names | xargs dpkg-query -W -f='${Package}=${Version}\n' >/out/runtime-packages \
 && cat /out/needed-libraries /out/runtime-packages

FROM debian:bookworm
ARG DEBIAN_FRONTEND=noninteractive
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="virtsnap-controller" \
      org.opencontainers.image.description="virtsnap's per-node agent: libvirt domains and their snapshot trees as Kubernetes objects" \
      org.opencontainers.image.version="$VERSION"
COPY scripts/lib/apt-backports.sh /tmp/apt-backports.sh
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN bash -c '. /tmp/apt-backports.sh && ensure_backports_pin' \
 && apt-get update -qq \
 && xargs apt-get install -y -qq --no-install-recommends </tmp/runtime-packages \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/apt-backports.sh /tmp/runtime-packages \
 && groupadd --gid 65532 virtsnap \
 && useradd --uid 65532 --gid 65532 --home-dir /var/lib/virtsnap --no-create-home \
      --shell /usr/sbin/nologin virtsnap \
 && install -d -o 65532 -g 65532 -m 0755 /var/lib/virtsnap
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/crds/ /usr/share/virtsnap/crds/
# --standalone with its defaults (--crd-dir crds, --data-dir virtsnap-data) works from the working directory.
# Every library resolves (a package list that missed one fails the build here, not the first start).
RUN ln -s /usr/share/virtsnap/crds /var/lib/virtsnap/crds \
 && ! ldd /usr/local/bin/virtsnap-controller /usr/local/bin/kubectl-virtsnap | grep 'not found'
WORKDIR /var/lib/virtsnap
# Non-root by default (standalone, or a host whose libvirtd sets auth_unix_rw = "none", with the host's
# libvirt gid added). deploy/daemonset.yaml and the Helm chart set runAsUser: 0 with every capability
# dropped, because Debian's and Red Hat's libvirtd authorise a read-write socket connection by uid (polkit):
# see the comment there.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/virtsnap-controller"]
