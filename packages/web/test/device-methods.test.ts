/**
 * Every method the page offers runs on gpujs with no op on the CPU (nothing in getBackendInfo().cpuOps or
 * cpuFallbacks), on a CNN and on the bundled ViT. gpujs's op table is the same in every mode, so its webasm
 * mode stands in here for WebGL2 and WebGPU (the page tests run Grad-CAM, guided backprop, LRP and the ViT's
 * methods in Chromium on both); small budgets, since only which ops ran is checked.
 */
import '@gradlens/backend-gpujs';
import { readImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { getBackendInfo, setBackend } from '@gradlens/tensor';
import * as path from 'path';
import { DEFAULT_BUDGET, METHODS } from '../../cli/src/methods';
import { pageMethods } from '../src/worker/page-methods';

const SAMPLE = path.resolve(__dirname, '../../../weights/samples/00-ankle-boot.png');
const budget = { ...DEFAULT_BUDGET, samples: 2, steps: 2, batchSize: 8, window: 16, stride: 16 };

afterAll(() => setBackend('cpu'));

describe.each(['gapnet', 'vit'] as const)('every page method on %s, on gpujs', (name) => {
  const { model, input, info } = loadBundledModel(name);
  const x = imageToInput(readImage(SAMPLE), input);
  const offered = pageMethods(METHODS, model, 64, info.targetLayer);

  test('runs with no op on the CPU', () => {
    expect(offered.length).toBeGreaterThan(20);
    const onCpu: string[] = [];
    for (const m of offered) {
      setBackend('cpu');
      setBackend('gpujs', { mode: 'webasm' });
      m.run({ model, input: x, target: undefined, layer: info.targetLayer, reference: false, budget, onWarning: () => undefined });
      const i = getBackendInfo();
      const cpu = [i.cpuOps, i.cpuFallbacks].filter((v) => v !== undefined);
      if (cpu.length > 0) onCpu.push(`${m.name}: ${cpu.join(' | ')}`);
    }
    expect(onCpu).toEqual([]);
  }, 600_000);
});
