#!/usr/bin/env bash
# Runs every test: installs what is missing (as root), builds with warnings as errors, runs ctest (unit,
# libvirt test-driver integration, and end-to-end on real libvirtd + QEMU/KVM, whose daemon the e2e
# fixture starts), runs the fuzzers for a bounded time, then builds and runs the tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/setup-qemu.sh
# The e2e fixture starts libvirtd; stop it (and any domain a failed test left) whatever happens.
trap 'bash scripts/stop-libvirtd.sh --destroy-domains >/dev/null 2>&1 || true' EXIT

echo "== build (warnings are errors) =="
cmake -S . -B build -DVIRTSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
echo "== tests =="
ctest --test-dir build --output-on-failure -j2

echo "== fuzzers (clang, libFuzzer + AddressSanitizer + UBSan, ${VIRTSNAP_FUZZ_SECONDS:-30} s each) =="
CXX=clang++ cmake -S . -B build-fuzz -DVIRTSNAP_FUZZ=ON -DVIRTSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIRTSNAP_FUZZ_SECONDS="${VIRTSNAP_FUZZ_SECONDS:-30}" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" >/dev/null
cmake --build build-fuzz -j2
ctest --test-dir build-fuzz --output-on-failure -L fuzz

echo "== build under AddressSanitizer + UBSan =="
cmake -S . -B build-asan -DVIRTSNAP_WERROR=ON -DVIRTSNAP_SANITIZE=ON -DVIRTSNAP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2
echo "== tests under AddressSanitizer + UBSan =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2

# The Kubernetes runtime's tests (its threads, and cpprestsdk's under the HTTP transport and the API
# server front) under ThreadSanitizer: only the two test binaries of that layer are built, to stay
# within CI's time; the stage prints its wall time.
echo "== kube runtime tests under ThreadSanitizer =="
tsan_started=$(date +%s)
cmake -S . -B build-tsan -DVIRTSNAP_WERROR=ON -DVIRTSNAP_TSAN=ON -DVIRTSNAP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-tsan -j2 --target virtsnap_unit_kube virtsnap_integration_kube
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
build-tsan/tests/virtsnap_unit_kube
build-tsan/tests/virtsnap_integration_kube
echo "== ThreadSanitizer stage: $(($(date +%s) - tsan_started)) s wall time =="
