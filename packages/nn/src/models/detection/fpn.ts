import type { Tensor } from '@gradlens/tensor';
import { add, interpolate, relu, slice, withScope } from '@gradlens/tensor';
import { Sequential } from '../../layers/container';
import { Conv2d } from '../../layers/conv';
import { Module } from '../../module';
import type { InitOptions } from '../../init';
import { constant_, kaimingUniform_ } from '../../init';
import type { IntermediateLayerGetter } from '../segmentation';

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

/** torchvision's LastLevelP6P7 (RetinaNet's extra levels): `p6` (3×3/2 conv), `p7` (3×3/2 conv after a ReLU). */
export class LastLevelP6P7 extends Module {
  readonly p6: Conv2d;
  readonly p7: Conv2d;
  /** torchvision's use_P5: P6 comes from P5 when in and out channels match, else from C5. */
  readonly useP5: boolean;

  constructor(inChannels: number, outChannels: number, o: InitOptions = {}) {
    super();
    const conv = (i: number) => {
      const c = new Conv2d(i, outChannels, 3, { stride: 2, padding: 1, init: false });
      if (o.init !== false) {
        kaimingUniform_(c.weight, { a: 1, generator: o.generator });
        if (c.bias) constant_(c.bias, 0);
      }
      return c;
    };
    this.p6 = this.registerModule('p6', conv(inChannels));
    this.p7 = this.registerModule('p7', conv(outChannels));
    this.useP5 = inChannels === outChannels;
  }

  /** [P6, P7] from P5 (or C5); run it inside the block's scope. */
  run(x: Tensor): Tensor[] {
    const p6 = this.p6.call(x);
    return [p6, this.p7.call(relu(p6))];
  }

  override forward(): Tensor {
    throw new Error('LastLevelP6P7: returns two maps; use run(x)');
  }
}

/**
 * torchvision.ops.FeaturePyramidNetwork with LastLevelMaxPool (or LastLevelP6P7): `inner_blocks` (1×1 lateral convs) and
 * `layer_blocks` (3×3 output convs), top-down with nearest upsampling, then `pool`, a stride-2 subsample of the
 * last output. `run(features)` takes the backbone's maps, finest first, and returns the outputs, finest first,
 * with `pool` last.
 */
export class FeaturePyramidNetwork extends Module {
  readonly innerBlocks: Sequential;
  readonly layerBlocks: Sequential;

  /** torchvision's LastLevelP6P7 (RetinaNet), or null for LastLevelMaxPool (`pool`, no weights). */
  readonly extraBlocks: LastLevelP6P7 | null;

  constructor(
    inChannelsList: readonly number[],
    readonly outChannels: number,
    o: InitOptions = {},
    extraBlocks: LastLevelP6P7 | null = null,
  ) {
    super();
    this.innerBlocks = this.registerModule('inner_blocks', new Sequential(...inChannelsList.map((c) => plainConv(c, outChannels, 1, o))));
    this.layerBlocks = this.registerModule(
      'layer_blocks',
      new Sequential(...inChannelsList.map(() => plainConv(outChannels, outChannels, 3, o))),
    );
    this.extraBlocks = extraBlocks ? this.registerModule('extra_blocks', extraBlocks) : null;
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
    const extra = this.extraBlocks;
    if (extra) {
      // LastLevelP6P7: from P5 when it has the FPN's width (use_P5), else from C5
      const from = extra.useP5 ? results[n - 1]! : features[n - 1]!;
      results.push(...withScope('extra_blocks', () => extra.run(from)));
      return results;
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

/** torchvision's BackboneWithFPN: `body` (the backbone's layers returning '0'…'3') and `fpn`. */
export class BackboneWithFPN extends Module {
  readonly body: IntermediateLayerGetter;
  readonly fpn: FeaturePyramidNetwork;

  constructor(body: IntermediateLayerGetter, fpn: FeaturePyramidNetwork) {
    super();
    this.body = this.registerModule('body', body);
    this.fpn = this.registerModule('fpn', fpn);
  }

  /** How many of the pyramid's maps come from the body ('0', '1', …), before the extra 'pool': the RoIAlign's maps. */
  get returnedMaps(): number {
    return Object.keys(this.body.returnLayers).length;
  }

  /** The pyramid's maps '0', '1', … and 'pool', finest first; run it inside the backbone's scope. */
  features(x: Tensor): Tensor[] {
    const maps = withScope('body', () => this.body.features(x));
    const names = Object.values(this.body.returnLayers);
    return withScope('fpn', () => this.fpn.run(names.map((n) => maps[n]!)));
  }

  override forward(): Tensor {
    throw new Error('BackboneWithFPN: returns several maps; use features(x)');
  }
}
