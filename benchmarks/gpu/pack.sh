#!/usr/bin/env bash
# Makes the bundle run.sh needs on a machine without Node: node.xz (this machine's x86-64 node binary)
# and deps.tar.xz (node_modules without the tfjs peers and the non-Linux Dawn builds, plus the built
# packages' dist; io, nn and cli's because suites/gpujs.js reads its flags with scripts/flags.js, which
# uses the CLI's parser). Run `npx tsc -b` first. Output: node_modules/.gpu-carry (ignored by git), < 64 MiB.
set -eu
cd "$(dirname "$0")/../.."
B=node_modules/.gpu-carry
mkdir -p "$B"
xz -T0 -9 -c "$(command -v node)" > "$B/node.xz"
tar -cf - --exclude='node_modules/.gpu-carry' --exclude='node_modules/@tensorflow' \
  --exclude='node_modules/webgpu/dist/*darwin*' --exclude='node_modules/webgpu/dist/*win32*' --exclude='node_modules/webgpu/dist/*arm64*' \
  node_modules packages/tensor/dist packages/backend-gpujs/dist \
  packages/io/dist packages/nn/dist packages/cli/dist | xz -T0 -9 > "$B/deps.tar.xz"
# the Vulkan loader (apt-get install libvulkan1), for GPU machines that have the driver's ICD but no loader
if [ -f /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$B/"; fi
du -sh "$B"/*
