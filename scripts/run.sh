#!/usr/bin/env bash
# The main job on the embedded default: libvirt's in-process test driver. Until the standalone agent
# exists this is the tree demo: real libvirt snapshot operations mirrored in virtsnap's tree model,
# checked against each other after every step. Arguments go to virtsnap-tree-demo (see --help):
# --uri, --domain, --random-steps, --seed, --log-level, --log-format.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target virtsnap-tree-demo >/dev/null
exec build/controller/virtsnap-tree-demo "$@"
