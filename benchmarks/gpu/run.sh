#!/usr/bin/env bash
# One prepared GPU-machine run: the conformance suite in every gpu.js mode this machine offers, then
# the gpujs kernel benchmark, printed as one table. Needs Node >= 20 on PATH, or a bundle made by
# benchmarks/gpu/pack.sh (an xz-compressed node binary and the node_modules/dist the run needs) in
# $GRADLENS_GPU_BUNDLE (default node_modules/.gpu-carry). Writes logs and JSON under ${OUT:-/tmp/gradlens-gpu}.
set -u
# headlessgl needs an X display: without one, run the whole script under Xvfb when it is installed.
if [ -z "${DISPLAY:-}" ] && [ -z "${GRADLENS_UNDER_XVFB:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  export GRADLENS_UNDER_XVFB=1
  exec xvfb-run -a "$0" "$@"
fi
cd "$(dirname "$0")/../.."
BUNDLE=${GRADLENS_GPU_BUNDLE:-node_modules/.gpu-carry}
OUT=${OUT:-/tmp/gradlens-gpu}
mkdir -p "$OUT"
if [ -f "$BUNDLE/node.xz" ]; then
  mkdir -p /tmp/gradlens-node/bin
  xz -dc "$BUNDLE/node.xz" > /tmp/gradlens-node/bin/node && chmod +x /tmp/gradlens-node/bin/node
  export PATH=/tmp/gradlens-node/bin:$PATH
fi
if [ -f "$BUNDLE/deps.tar.xz" ]; then tar -xJf "$BUNDLE/deps.tar.xz"; fi
# Dawn dlopens the Vulkan loader (Debian's libvulkan1) from its own folder first; a machine with only
# the NVIDIA ICD (nvidia_icd.json) and no loader gets the bundled one.
if [ -f "$BUNDLE/libvulkan.so.1" ] && ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  cp "$BUNDLE/libvulkan.so.1" node_modules/webgpu/dist/
fi
echo "== machine"
echo "node $(node --version); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
(nvidia-smi -L 2>&1 || echo "nvidia-smi: not available") | head -4
echo "vulkan ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
echo "DISPLAY=${DISPLAY:-unset}; Xvfb: $(command -v Xvfb || echo none)"
echo "== gpu.js modes"
node benchmarks/gpu/probe.js 2>&1
LABELS=$(node benchmarks/gpu/probe.js --list 2>/dev/null | tail -1)
echo "== conformance ($LABELS)"
GRADLENS_CONFORMANCE=$LABELS node node_modules/jest/bin/jest.js packages/backend-gpujs --json --outputFile="$OUT/conformance.json" > "$OUT/jest.log" 2>&1
echo "jest exit $?"
node benchmarks/gpu/conformance-summary.js "$OUT/conformance.json"
echo "== kernel benchmark (median ms, GFLOP/s)"
GPUJS_BENCH_MODES=${GPUJS_BENCH_MODES:-webasm,headlessgl,webgpu} node benchmarks/suites/gpujs.js 2>&1 | tee "$OUT/bench.txt"
