#!/usr/bin/env bash
# Build .gpu/: a self-contained folder (Node runtime, Vulkan/GL loaders, Dawn, one esbuild bundle of the
# seqsch CLI) that runs on a bare Linux GPU machine with no network:  bash .gpu/run.sh env --backend webgpu
# It drives the workplace's make-bundle.sh (../shared/gpu/make-bundle.sh, or MAKE_BUNDLE=path).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${MAKE_BUNDLE:-../shared/gpu/make-bundle.sh}
[ -f "$mb" ] || { echo "bundle-gpu: $mb not found (set MAKE_BUNDLE to make-bundle.sh)" >&2; exit 1; }
bash "$mb" src/cli.ts "${1:-.gpu}"
