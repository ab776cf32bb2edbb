// @ts-check
/**
 * Which gpu.js modes really run on this machine: prints one line per mode (requested → actual, and
 * why not), and with --list prints the backend labels the conformance suite should run.
 */
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const G = require(path.join(root, 'packages/backend-gpujs/dist'));
const { GPU } = require(path.join(root, 'node_modules/gpu.js'));

async function main() {
  const list = process.argv.includes('--list');
  const labels = ['cpu', 'gpujs:cpu', 'gpujs:webasm'];
  const lines = [];
  for (const m of ['headlessgl', 'webgpu', 'webasm', 'cpu', 'gpu']) {
    const r = G.resolveMode(m);
    let note = r.reason || '';
    if (m === 'webgpu' && r.mode === 'webgpu') {
      const ok = await GPU.isWebGPUAvailable();
      note = ok
        ? 'adapter available (kernel-level runs only: webgpu results are promises)'
        : 'navigator.gpu present but requestAdapter() gave no adapter';
    }
    if (m === 'headlessgl' && r.mode === 'headlessgl') labels.push('gpujs:headlessgl');
    lines.push(`${m.padEnd(11)} -> ${r.mode.padEnd(10)} ${note}`);
  }
  if (list) console.log(labels.join(','));
  else console.log(lines.join('\n'));
  process.exit(0);
}
main();
