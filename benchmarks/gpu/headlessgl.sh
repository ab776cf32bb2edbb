#!/usr/bin/env bash
# headless GL from scratch: the gpujs backend's `headlessgl` mode on Mesa (llvmpipe) under Xvfb.
#
#   benchmarks/gpu/headlessgl.sh [--rebuild] [--no-bench]
#
# 1. Debian packages: the X11 headers `gl` builds against, Xvfb and Mesa's DRI drivers (installed
#    with apt-get when missing: as root, or through sudo).
# 2. Builds `gl` (headless-gl, the version gpu.js pins) in a scratch folder outside the repo
#    ($GL_BUILD_DIR, default /tmp/gradlens-glbuild): `npm install --ignore-scripts`, then
#    `node-gyp rebuild` (ANGLE's shader translator and GL front end, ~165 C++ files). A build that is
#    already there and loads is reused unless --rebuild. Node's headers come from the local Node
#    installation (no download).
# 3. Links it into the repo without committing anything: copies build/Release/webgl.node into
#    node_modules/gl (npm installs the package itself, as gpu.js's optional dependency, but skips
#    its build; without it, NODE_PATH points at the scratch folder), and checks that `xvfb-run -a node -e "require('gl')(1,1)"` makes a context on Mesa.
# 4. Builds the packages (tsc -b) and runs packages/backend-gpujs's tests under xvfb-run: the
#    conformance suite on cpu, gpujs:cpu, gpujs:webasm and gpujs:headlessgl (GRADLENS_CONFORMANCE
#    overrides the list), printing one line per backend.
# 5. Unless --no-bench, the gpujs kernel benchmark (webasm and headlessgl beside the CPU backend).
#
# Logs and the jest JSON go to $OUT (default /tmp/gradlens-headlessgl). Exit status: non-zero when
# a step fails or a test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GL_BUILD_DIR=${GL_BUILD_DIR:-/tmp/gradlens-glbuild}
OUT=${OUT:-/tmp/gradlens-headlessgl}
JOBS=${GL_JOBS:-$(nproc)}
REBUILD=0
BENCH=1
for a in "$@"; do
  case "$a" in
    --rebuild) REBUILD=1 ;;
    --no-bench) BENCH=0 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
step() { echo; echo "== $*"; }
GL_VERSION=$(node -p "require('./node_modules/gpu.js/package.json').optionalDependencies.gl" 2>/dev/null || echo 8.1.6)

step "1/5 Debian packages"
pkgs=(libxi-dev libxext-dev libx11-dev pkg-config xvfb xauth libgl1-mesa-dri g++ make python3)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "present: ${pkgs[*]}"
fi

step "2/5 build gl@$GL_VERSION in $GL_BUILD_DIR"
GL_PKG=$GL_BUILD_DIR/node_modules/gl
loads() { node -e "require('$1')" >/dev/null 2>&1; }
if [ $REBUILD -eq 0 ] && [ -f "$GL_PKG/build/Release/webgl.node" ] && grep -q "\"version\": \"$GL_VERSION\"" "$GL_PKG/package.json" && loads "$GL_PKG"; then
  echo "reusing $GL_PKG/build/Release/webgl.node (--rebuild to build again)"
else
  mkdir -p "$GL_BUILD_DIR"
  [ -f "$GL_BUILD_DIR/package.json" ] || echo '{ "name": "gradlens-glbuild", "private": true }' > "$GL_BUILD_DIR/package.json"
  (cd "$GL_BUILD_DIR" && npm install --no-audit --no-fund --ignore-scripts "gl@$GL_VERSION")
  # node-gyp takes Node's headers from the local installation instead of downloading them.
  NODE_PREFIX=$(node -p "require('path').resolve(process.execPath, '..', '..')")
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$NODE_PREFIX/include/node/common.gypi" ]; then export npm_config_nodedir=$NODE_PREFIX; fi
  echo "node-gyp rebuild -j $JOBS (log: $OUT/gl-build.log)"
  t0=$(date +%s)
  GYP=$GL_BUILD_DIR/node_modules/.bin/node-gyp   # gl depends on node-gyp; npm hoists it here
  [ -x "$GYP" ] || GYP="npx --yes node-gyp"
  if ! (cd "$GL_PKG" && nice -n 19 $GYP rebuild -j "$JOBS") > "$OUT/gl-build.log" 2>&1; then
    tail -30 "$OUT/gl-build.log"
    echo "gl build failed: see $OUT/gl-build.log" >&2
    exit 1
  fi
  echo "built in $(( $(date +%s) - t0 )) s on $(nproc) CPUs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
fi

step "3/5 link into $ROOT/node_modules/gl"
if [ -f node_modules/gl/package.json ] && grep -q "\"version\": \"$GL_VERSION\"" node_modules/gl/package.json; then
  mkdir -p node_modules/gl/build/Release
  cp "$GL_PKG/build/Release/webgl.node" node_modules/gl/build/Release/webgl.node
  echo "copied webgl.node (npm installed the package; only its native build was missing)"
else
  # npm left out gpu.js's optional dependency (e.g. --omit=optional): resolve gl and its
  # dependencies from the scratch folder instead.
  export NODE_PATH=$GL_BUILD_DIR/node_modules${NODE_PATH:+:$NODE_PATH}
  echo "node_modules has no gl@$GL_VERSION: using NODE_PATH=$NODE_PATH"
fi
xvfb-run -a node -e "
const gl = require('gl')(1, 1);
if (!gl) { console.error('gl made no context'); process.exit(1); }
const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
const driver = (maps.match(/\/[^\s]*dri\/[^\s]*_dri\.so/) || ['no DRI driver mapped'])[0];
const hp = gl.getShaderPrecisionFormat(gl.FRAGMENT_SHADER, gl.HIGH_FLOAT);
console.log('context:', gl.getParameter(gl.VERSION), '| driver', driver, /libLLVM/.test(maps) ? '(llvmpipe)' : '',
  '| MAX_TEXTURE_SIZE', gl.getParameter(gl.MAX_TEXTURE_SIZE), '| OES_texture_float', !!gl.getExtension('OES_texture_float'),
  '| highp float mantissa', hp.precision, 'bits');
"

step "4/5 build the packages, conformance under xvfb-run"
nice -n 19 npx tsc -b packages/backend-gpujs
xvfb-run -a node benchmarks/gpu/probe.js
status=0
xvfb-run -a node node_modules/jest/bin/jest.js packages/backend-gpujs --json --outputFile="$OUT/conformance.json" > "$OUT/jest.log" 2>&1 || status=$?
echo "jest exit $status (log: $OUT/jest.log)"
if [ -f "$OUT/conformance.json" ]; then node benchmarks/gpu/conformance-summary.js "$OUT/conformance.json"; else tail -30 "$OUT/jest.log"; fi

if [ $BENCH -eq 1 ]; then
  step "5/5 gpujs kernel benchmark (median ms, GFLOP/s; Mesa llvmpipe renders on the CPU)"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
  GPUJS_BENCH_MODES=${GPUJS_BENCH_MODES:-webasm,headlessgl} xvfb-run -a node benchmarks/suites/gpujs.js 2>&1 | tee "$OUT/bench.txt"
fi
exit $status
