#!/usr/bin/env bash
# Runs every test: installs what is missing (as root), builds with warnings as errors, runs ctest, then
# builds and runs the tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== build (warnings are errors) =="
cmake -S . -B build -DVIRTSNAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
echo "== tests =="
ctest --test-dir build --output-on-failure -j2

echo "== build under AddressSanitizer + UBSan =="
cmake -S . -B build-asan -DVIRTSNAP_WERROR=ON -DVIRTSNAP_SANITIZE=ON -DVIRTSNAP_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2
echo "== tests under AddressSanitizer + UBSan =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2
