#!/usr/bin/env bash
# Runs every test: installs what is missing (as root), builds with warnings as errors, runs ctest (unit,
# libvirt test-driver integration, and end-to-end on real libvirtd + QEMU/KVM, whose daemon the e2e
# fixture starts), runs the fuzzers for a bounded time, then builds and runs the tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage prints its wall time, and the total at the end, so CI's budget stays visible.
run_started=$SECONDS
stage_started=$SECONDS
stage() {
  [ -n "${stage_name:-}" ] && printf '== %s: %d s ==\n' "$stage_name" $((SECONDS - stage_started))
  stage_name=$1
  stage_started=$SECONDS
  [ -n "$1" ] && echo "== $1 =="
  return 0
}

stage "set-up"
bash scripts/setup.sh
bash scripts/setup-qemu.sh
# The metrics and alert-rule tests run the promtool that setup.sh unpacked.
export VIRTSNAP_PROMTOOL=/opt/virtsnap/promtool/usr/bin/promtool
# The e2e fixture starts libvirtd; stop it (and any domain a failed test left) whatever happens.
trap 'bash scripts/stop-libvirtd.sh --destroy-domains >/dev/null 2>&1 || true' EXIT

# ccache, when the machine has it, makes a second run cheap; a fresh machine builds cold either way.
# Paths are hashed relative to the checkout (CCACHE_BASEDIR, CCACHE_NOHASHDIR), so a fresh clone in
# another directory of the same machine hits what an earlier clone compiled; four build trees need
# more than ccache's default 5 GB.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
  ccache --zero-stats >/dev/null
fi

stage "build (warnings are errors)"
cmake -S . -B build -DVIRTSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  "${launcher[@]}" >/dev/null
cmake --build build -j2

# The house naming style (.clang-tidy) over every translation unit of that build (its
# compile_commands.json: base/ crds/ drivers/ reconcilers/ controller/ tests/ bench/) and over the
# fuzzers, which only the clang configuration builds; any finding fails the stage (.clang-tidy's
# WarningsAsErrors, as run-clang-tidy 14 takes no -warnings-as-errors; it exits 1 when a file fails).
# -Wno-error: the compiler's own warnings are the GCC build's business, not this stage's.
stage "clang-tidy naming check"
naming=(-quiet -checks='-*,readability-identifier-naming' -extra-arg=-Wno-error)
root_regex=$(printf '%s' "$PWD" | sed 's/[][\\.*^$+?(){}|]/\\&/g')
read -r -a fuzz_flags <<<"$(pkg-config --cflags libxml-2.0 libvirt)"
if ! {
  run-clang-tidy -p build -j 2 "${naming[@]}" "^$root_regex/(base|crds|drivers|reconcilers|controller|tests|bench)/.*\.cpp\$" &&
    clang-tidy "${naming[@]}" -warnings-as-errors='*' tests/fuzz/*.cpp -- -std=c++20 -I. "${fuzz_flags[@]}"
} >build/clang-tidy-naming.log 2>&1; then
  grep -E '(error|warning):' build/clang-tidy-naming.log | sort -u || true
  echo "clang-tidy naming check failed; its whole output is in build/clang-tidy-naming.log" >&2
  exit 1
fi

stage "tests"
ctest --test-dir build --output-on-failure -j2

stage "fuzzers (clang, libFuzzer + AddressSanitizer + UBSan, ${VIRTSNAP_FUZZ_SECONDS:-30} s each)"
CXX=clang++ cmake -S . -B build-fuzz -DVIRTSNAP_FUZZ=ON -DVIRTSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIRTSNAP_FUZZ_SECONDS="${VIRTSNAP_FUZZ_SECONDS:-30}" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
  "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j2
ctest --test-dir build-fuzz --output-on-failure -L fuzz

stage "build under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DVIRTSNAP_WERROR=ON -DVIRTSNAP_SANITIZE=ON -DVIRTSNAP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" >/dev/null
cmake --build build-asan -j2
stage "tests under AddressSanitizer + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2

# The Kubernetes runtime's tests (its threads, and cpprestsdk's under the HTTP transport and the API
# server front) under ThreadSanitizer: only the two test binaries of that layer are built, to stay
# within CI's time.
stage "kube runtime tests under ThreadSanitizer"
cmake -S . -B build-tsan -DVIRTSNAP_WERROR=ON -DVIRTSNAP_TSAN=ON -DVIRTSNAP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build build-tsan -j2 --target virtsnap_unit_kube virtsnap_integration_kube
# libcpprest.so, libcrypto and boost::asio inside them are not instrumented: their atomics are invisible,
# so their own memcpy/new/delete calls would be reported as races with each other. Only accesses made by
# instrumented code (virtsnap's, and the header templates compiled into it) are checked.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$PWD/tests/tsan.supp"
build-tsan/tests/virtsnap_unit_kube
build-tsan/tests/virtsnap_integration_kube
stage ""
# How warm the compiler cache was: a cold run's build stages are several times longer.
if [ ${#launcher[@]} -gt 0 ]; then
  ccache --show-stats | grep -E '^ *(Hits|Misses):' || true
fi
printf '== total: %d s ==\n' $((SECONDS - run_started))
