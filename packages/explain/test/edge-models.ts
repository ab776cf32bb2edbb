import * as path from 'path';
import type { Tensor } from '@gradlens/tensor';
import { add, assign, clamp, div, flatten, gelu, Generator, mean, mul, randn, relu, sigmoid, tanh } from '@gradlens/tensor';
import { AdaptiveAvgPool2d, Conv2d, Linear, loadWeights, MaxPool2d, Module, Sequential, VisionTransformer } from '@gradlens/nn';
import { FIXTURES } from './helpers';

/** The models of edge-cases.test.ts: none of them is a model of the other tests. */

/** An activation as a functional op inside a parameter-free module (no ReLU module anywhere). */
export class Act extends Module {
  constructor(readonly kind: 'relu' | 'gelu' | 'silu' | 'hardswish' | 'tanh' | 'sigmoid') {
    super();
  }
  override forward(x: Tensor): Tensor {
    switch (this.kind) {
      case 'relu':
        return relu(x);
      case 'gelu':
        return gelu(x);
      case 'silu':
        return mul(x, sigmoid(x));
      case 'hardswish':
        return div(mul(x, clamp(add(x, 3), { min: 0, max: 6 })), 6);
      case 'tanh':
        return tanh(x);
      case 'sigmoid':
        return sigmoid(x);
    }
  }
}

/**
 * scripts/make-explain-edge-fixtures.py's EdgeNet: features = conv 3→6, ReLU, max pool, conv 6→8, GELU,
 * conv 8→8, Hardswish; SiLU; global average pooling; fc 8→5. `cin` other than 3 gives a random
 * 1-channel (or other) twin that has no fixture weights.
 */
export class EdgeNet extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  constructor(cin = 3, generator = new Generator(1)) {
    super();
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(cin, 6, 3, { padding: 1, generator }),
        new Act('relu'),
        new MaxPool2d(2),
        new Conv2d(6, 8, 3, { padding: 1, generator }),
        new Act('gelu'),
        new Conv2d(8, 8, 3, { padding: 1, generator }),
        new Act('hardswish'),
      ),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(8, 5, { generator }));
  }
  override forward(x: Tensor): Tensor {
    return this.fc.call(flatten(this.avgpool.call(new Act('silu').forward(this.features.call(x))), 1));
  }
}

/** EdgeNet with the fixture's PyTorch weights, in eval mode. */
export function edgeNet(): EdgeNet {
  const m = new EdgeNet();
  loadWeights(m, path.join(FIXTURES, 'edge', 'edgenet.pth'));
  return m.eval();
}

/**
 * Conv → activation → conv → activation → global average pooling → linear, the activation's output
 * the GAP's input (so ∂score/∂A is constant over each channel's map). `bias: false` drops every bias.
 */
export class GapHeadNet extends Module {
  readonly features: Sequential;
  readonly fc: Linear;
  constructor(options: { act?: Act['kind']; bias?: boolean; cin?: number; classes?: number; seed?: number } = {}) {
    super();
    const generator = new Generator(options.seed ?? 2);
    const bias = options.bias ?? true;
    const act = options.act ?? 'relu';
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(options.cin ?? 3, 5, 3, { padding: 1, bias, generator }),
        new Act(act),
        new Conv2d(5, 6, 3, { padding: 1, stride: 2, bias, generator }),
        new Act(act),
      ),
    );
    this.fc = this.registerModule('fc', new Linear(6, options.classes ?? 4, { bias, generator }));
  }
  override forward(x: Tensor): Tensor {
    return this.fc.call(mean(this.features.call(x), { dim: [2, 3] }));
  }
}

/** A model with no convolution: linear → ReLU → linear → ReLU → linear on vectors [N, 12]. */
export class Mlp extends Module {
  readonly l1: Linear;
  readonly l2: Linear;
  readonly l3: Linear;
  constructor(options: { bias?: boolean } = {}) {
    super();
    const generator = new Generator(4);
    const bias = options.bias ?? true;
    this.l1 = this.registerModule('l1', new Linear(12, 10, { bias, generator }));
    this.l2 = this.registerModule('l2', new Linear(10, 8, { bias, generator }));
    this.l3 = this.registerModule('l3', new Linear(8, 3, { bias, generator }));
  }
  override forward(x: Tensor): Tensor {
    return this.l3.call(relu(this.l2.call(relu(this.l1.call(x)))));
  }
}

/** A module whose output scales another's by a constant (`scale` 0: every gradient is exactly zero). */
export class Scaled extends Module {
  readonly inner: Module;
  constructor(
    inner: Module,
    readonly scale: number,
  ) {
    super();
    this.inner = this.registerModule('inner', inner);
  }
  override forward(x: Tensor): Tensor {
    return mul(this.inner.call(x), this.scale);
  }
}

/** EdgeNet-like with a side branch (`side`) that runs but whose result the output does not use. */
export class SideBranchNet extends GapHeadNet {
  readonly side: Conv2d;
  constructor() {
    super();
    this.side = this.registerModule('side', new Conv2d(6, 2, 1, { generator: new Generator(5) }));
  }
  override forward(x: Tensor): Tensor {
    const a = this.features.call(x);
    this.side.call(a);
    return this.fc.call(mean(a, { dim: [2, 3] }));
  }
}

/** A two-layer ViT (32×32, patches of 8) with a random head (torchvision zero-initialises it). */
export function tinyVit(): VisionTransformer {
  const generator = new Generator(6);
  const vit = new VisionTransformer(
    { imageSize: 32, patchSize: 8, numLayers: 2, numHeads: 2, hiddenDim: 16, mlpDim: 32 },
    { numClasses: 5, generator },
  );
  for (const [name, p] of vit.namedParameters()) if (name.startsWith('heads.head.')) assign(p, mul(randn(p.shape, { generator }), 0.5));
  return vit.eval();
}
