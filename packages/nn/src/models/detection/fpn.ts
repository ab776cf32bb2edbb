import type { Tensor } from '@gradlens/tensor';
import { add, interpolate, slice, withScope } from '@gradlens/tensor';
import { Sequential } from '../../layers/container';
import { Conv2d } from '../../layers/conv';
import { Module } from '../../module';
import type { InitOptions } from '../../init';
import { constant_, kaimingUniform_ } from '../../init';

/** A conv with bias and no norm or activation, in torchvision's Conv2dNormActivation Sequential (child `0`). */
function plainConv(inChannels: number, outChannels: number, kernel: number, o: InitOptions): Sequential {
  const conv = new Conv2d(inChannels, outChannels, kernel, { padding: (kernel - 1) >> 1, init: false });
  // torchvision's FPN init: kaiming_uniform_(a=1), bias 0
  if (o.init !== false) {
    kaimingUniform_(conv.weight, { a: 1, generator: o.generator });
    if (conv.bias) constant_(conv.bias, 0);
  }
  return new Sequential(conv);
}

/**
 * torchvision.ops.FeaturePyramidNetwork with LastLevelMaxPool: `inner_blocks` (1×1 lateral convs) and
 * `layer_blocks` (3×3 output convs), top-down with nearest upsampling, then `pool`, a stride-2 subsample of the
 * last output. `run(features)` takes the backbone's maps, finest first, and returns the outputs, finest first,
 * with `pool` last.
 */
export class FeaturePyramidNetwork extends Module {
  readonly innerBlocks: Sequential;
  readonly layerBlocks: Sequential;

  constructor(
    inChannelsList: readonly number[],
    readonly outChannels: number,
    o: InitOptions = {},
  ) {
    super();
    this.innerBlocks = this.registerModule('inner_blocks', new Sequential(...inChannelsList.map((c) => plainConv(c, outChannels, 1, o))));
    this.layerBlocks = this.registerModule(
      'layer_blocks',
      new Sequential(...inChannelsList.map(() => plainConv(outChannels, outChannels, 3, o))),
    );
  }

  /** The pyramid from the backbone's maps (finest first): [P2, …, P5, pool]; run it inside the FPN's scope. */
  run(features: readonly Tensor[]): Tensor[] {
    const n = features.length;
    if (n !== this.innerBlocks.length) throw new Error(`FeaturePyramidNetwork: expected ${this.innerBlocks.length} maps, got ${n}`);
    const inner = (i: number, x: Tensor) => withScope('inner_blocks', () => this.innerBlocks.at(i).call(x));
    const layer = (i: number, x: Tensor) => withScope('layer_blocks', () => this.layerBlocks.at(i).call(x));
    let last = inner(n - 1, features[n - 1]!);
    const results = [layer(n - 1, last)];
    for (let i = n - 2; i >= 0; i--) {
      const lateral = inner(i, features[i]!);
      const topDown = interpolate(last, { size: [lateral.shape[2]!, lateral.shape[3]!], mode: 'nearest' });
      last = add(lateral, topDown);
      results.unshift(layer(i, last));
    }
    // LastLevelMaxPool: max_pool2d(kernel 1, stride 2) is every other row and column.
    const top = results[n - 1]!;
    results.push(slice(slice(top, 2, 0, undefined, 2), 3, 0, undefined, 2));
    return results;
  }

  override forward(): Tensor {
    throw new Error('FeaturePyramidNetwork: takes a list of maps; use run(features)');
  }
}
