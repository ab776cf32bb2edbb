import type { Tensor } from '@gradlens/tensor';
import { withScope } from '@gradlens/tensor';
import { Conv2d } from '../layers/conv';
import type { Sequential } from '../layers/container';
import { Module } from '../module';
import type { ModelOptions } from './common';
import { numClassesOf, widthScaler } from './common';
import { MobileNetV3Block, mobilenetV3Large } from './mobilenet-v3';
import { resnet101, resnet50 } from './resnet';
import { DeepLabHead, FCNHead, type HeadInit, LRASPPHead, upsampleTo } from './segmentation-heads';

/** Options of the segmentation models (torchvision's `num_classes` default for them is 21, Pascal VOC's). */
export interface SegmentationOptions extends ModelOptions {
  /**
   * torchvision's `aux_loss`: build `aux_classifier` (an FCNHead on `backbone.layer3`, or on the MobileNetV3
   * backbone's output-stride-8 stage), whose weights torchvision's published files hold (default false, as
   * torchvision's builders without weights). Not for LR-ASPP.
   */
  auxLoss?: boolean;
  /** MobileNetV3 backbones: torchvision's width_mult (default 1). `widthDivisor` narrows the heads' own widths (256, 128). */
  widthMult?: number;
  /** DeepLabV3: the ASPP's atrous rates (default torchvision's [12, 24, 36]). */
  atrousRates?: readonly number[];
}

/**
 * torchvision's IntermediateLayerGetter (models/_utils.py): the children of a backbone up to the last one it
 * returns, under their own names, each output a `returnLayers` names kept by that name. `features(x)` runs them.
 */
export class IntermediateLayerGetter extends Module {
  readonly returnLayers: Readonly<Record<string, string>>;
  /** The last child it holds (the deepest layer it returns). */
  readonly lastLayer: string;

  constructor(model: Module, returnLayers: Record<string, string>) {
    super();
    const names = model.children().map(([n]) => n);
    const absent = Object.keys(returnLayers).filter((k) => !names.includes(k));
    if (absent.length > 0) throw new Error(`IntermediateLayerGetter: return layers ${absent.join(', ')} are not children of the model`);
    const left = new Set(Object.keys(returnLayers));
    let last = '';
    for (const [name, child] of model.children()) {
      if (left.size === 0) {
        // Dropped children (a classifier's pooling and fc) free their weights now.
        for (const t of [...child.parameters(), ...child.namedBuffers().map(([, b]) => b)]) t.dispose();
        continue;
      }
      this.registerModule(name, child);
      left.delete(name);
      last = name;
    }
    this.returnLayers = { ...returnLayers };
    this.lastLayer = last;
  }

  /** The returned features by their names (`out`, `aux`; `low`, `high`). Run it inside the getter's scope. */
  features(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    let y = x;
    for (const [name, child] of this.children()) {
      y = child.call(y);
      const key = this.returnLayers[name];
      if (key !== undefined) out[key] = y;
    }
    return out;
  }

  /** The last layer's output (`out`, or `high`); the models call `features`. */
  override forward(x: Tensor): Tensor {
    return this.features(x)[this.returnLayers[this.lastLayer]!]!;
  }
}

function checkInput(model: string, x: Tensor): void {
  if (x.rank !== 4 || x.shape[1] !== 3) throw new Error(`${model}: input must be [N, 3, H, W], got [${x.shape.join(', ')}]`);
}

const size = (x: Tensor): [number, number] => [x.shape[2]!, x.shape[3]!];

/**
 * torchvision's _SimpleSegmentationModel (FCN, DeepLabV3): `backbone` (an IntermediateLayerGetter), `classifier`
 * on its `out` feature and the optional `aux_classifier` on `aux`, each resized bilinearly (align_corners=False)
 * to the input's size. `call(x)` returns the `out` logits [N, classes, H, W]; `forwardWithAux(x)` both.
 */
export class SegmentationModel extends Module {
  readonly backbone: IntermediateLayerGetter;
  readonly classifier: Module;
  readonly auxClassifier: Module | null;

  constructor(
    readonly name: string,
    backbone: IntermediateLayerGetter,
    classifier: Module,
    auxClassifier: Module | null,
  ) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.classifier = this.registerModule('classifier', classifier);
    this.auxClassifier = auxClassifier ? this.registerModule('aux_classifier', auxClassifier) : null;
  }

  /** torchvision's result dict: `out`, and `aux` when the model has an aux_classifier. */
  forwardWithAux(x: Tensor): { out: Tensor; aux?: Tensor } {
    checkInput(this.name, x);
    const features = withScope('backbone', () => this.backbone.features(x));
    const out = upsampleTo(this.classifier.call(features.out!), size(x));
    if (!this.auxClassifier) return { out };
    return { out, aux: upsampleTo(this.auxClassifier.call(features.aux!), size(x)) };
  }

  override forward(x: Tensor): Tensor {
    checkInput(this.name, x);
    const features = withScope('backbone', () => this.backbone.features(x));
    return upsampleTo(this.classifier.call(features.out!), size(x));
  }
}

/** torchvision's FCN (fcn_resnet50, fcn_resnet101). */
export class FCN extends SegmentationModel {}
/** torchvision's DeepLabV3 (deeplabv3_resnet50, deeplabv3_resnet101, deeplabv3_mobilenet_v3_large). */
export class DeepLabV3 extends SegmentationModel {}

/**
 * torchvision's LRASPP: `backbone` (MobileNetV3's features up to the last, returning `low` at output stride 8 and
 * `high` at 16) and `classifier` (LRASPPHead), resized bilinearly to the input's size: [N, classes, H, W].
 */
export class LRASPP extends Module {
  readonly backbone: IntermediateLayerGetter;
  readonly classifier: LRASPPHead;

  constructor(backbone: IntermediateLayerGetter, classifier: LRASPPHead) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.classifier = this.registerModule('classifier', classifier);
  }

  override forward(x: Tensor): Tensor {
    checkInput('LRASPP', x);
    const { low, high } = withScope('backbone', () => this.backbone.features(x));
    return upsampleTo(
      withScope('classifier', () => this.classifier.run(low!, high!)),
      size(x),
    );
  }
}

const headInit = (o: SegmentationOptions): HeadInit => ({ init: o.init, generator: o.generator });
const classesOf = (o: SegmentationOptions, name: string) => numClassesOf({ numClasses: o.numClasses ?? 21 }, name);

/** ResNet-50/101 with replace_stride_with_dilation [false, true, true], cut after layer4 (`out`) with layer3 as `aux`. */
function resnetBackbone(depth: 50 | 101, o: SegmentationOptions, aux: boolean): IntermediateLayerGetter {
  const build = depth === 50 ? resnet50 : resnet101;
  // numClasses 1: the fc is dropped (and freed) anyway.
  const r = build({ ...o, numClasses: 1, replaceStrideWithDilation: [false, true, true] });
  return new IntermediateLayerGetter(r, aux ? { layer4: 'out', layer3: 'aux' } : { layer4: 'out' });
}

/** A child's output channels in MobileNetV3's features (a block, or the stem / last Conv2dNormActivation). */
export function featureChannels(m: Module): number {
  if (m instanceof MobileNetV3Block) return m.outChannels;
  const conv = m.children()[0]?.[1];
  if (conv instanceof Conv2d) return conv.outChannels;
  throw new Error(`segmentation: cannot tell the output channels of ${m.constructor.name}`);
}

/**
 * The dilated MobileNetV3-Large features and torchvision's stage positions: `[0]`, each block that starts a stage,
 * the last layer; the output-stride-16 position is the last, the output-stride-8 one the fourth from the end.
 */
function mobilenetFeatures(o: SegmentationOptions): { features: Sequential; os8: number; os16: number } {
  // widthDivisor narrows the heads only (MobileNetV3 takes widthMult); the classifier is dropped and freed.
  const m = mobilenetV3Large({ ...o, widthDivisor: undefined, numClasses: 1, dilated: true });
  for (const t of m.classifier.parameters()) t.dispose();
  const features = m.features;
  const kids = features.children().map(([, m]) => m);
  const stages = [0, ...kids.flatMap((m, i) => (m instanceof MobileNetV3Block && m.isCn ? [i] : [])), kids.length - 1];
  return { features, os8: stages[stages.length - 4]!, os16: stages[stages.length - 1]! };
}

function segmentationModel(name: string, o: SegmentationOptions, make: () => Module): Module {
  try {
    return make();
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message.startsWith(`${name}: `) ? message : `${name}: ${message}`);
  }
}

function fcnResnet(depth: 50 | 101, o: SegmentationOptions): FCN {
  const name = `fcn_resnet${depth}`;
  return segmentationModel(name, o, () => {
    const nc = classesOf(o, name);
    const w = widthScaler(o, name);
    const aux = o.auxLoss === true;
    return new FCN(
      name,
      resnetBackbone(depth, o, aux),
      new FCNHead(w(512) * 4, nc, headInit(o)),
      aux ? new FCNHead(w(256) * 4, nc, headInit(o)) : null,
    );
  }) as FCN;
}

function deeplabResnet(depth: 50 | 101, o: SegmentationOptions): DeepLabV3 {
  const name = `deeplabv3_resnet${depth}`;
  return segmentationModel(name, o, () => {
    const nc = classesOf(o, name);
    const w = widthScaler(o, name);
    const aux = o.auxLoss === true;
    return new DeepLabV3(
      name,
      resnetBackbone(depth, o, aux),
      new DeepLabHead(w(512) * 4, nc, w(256), o.atrousRates, headInit(o)),
      aux ? new FCNHead(w(256) * 4, nc, headInit(o)) : null,
    );
  }) as DeepLabV3;
}

/** FCN with a dilated ResNet-50 backbone, as torchvision.models.segmentation.fcn_resnet50 (21 classes). */
export const fcnResnet50 = (o: SegmentationOptions = {}) => fcnResnet(50, o);
/** FCN with a dilated ResNet-101 backbone, as torchvision.models.segmentation.fcn_resnet101. */
export const fcnResnet101 = (o: SegmentationOptions = {}) => fcnResnet(101, o);
/** DeepLabV3 with a dilated ResNet-50 backbone, as torchvision.models.segmentation.deeplabv3_resnet50. */
export const deeplabv3Resnet50 = (o: SegmentationOptions = {}) => deeplabResnet(50, o);
/** DeepLabV3 with a dilated ResNet-101 backbone, as torchvision.models.segmentation.deeplabv3_resnet101. */
export const deeplabv3Resnet101 = (o: SegmentationOptions = {}) => deeplabResnet(101, o);

/** DeepLabV3 with a dilated MobileNetV3-Large backbone, as torchvision.models.segmentation.deeplabv3_mobilenet_v3_large. */
export function deeplabv3MobilenetV3Large(o: SegmentationOptions = {}): DeepLabV3 {
  const name = 'deeplabv3_mobilenet_v3_large';
  return segmentationModel(name, o, () => {
    const nc = classesOf(o, name);
    const w = widthScaler(o, name);
    const aux = o.auxLoss === true;
    const { features, os8, os16 } = mobilenetFeatures(o);
    const outChannels = featureChannels(features.at(os16));
    const auxChannels = featureChannels(features.at(os8));
    const layers: Record<string, string> = { [String(os16)]: 'out' };
    if (aux) layers[String(os8)] = 'aux';
    return new DeepLabV3(
      name,
      new IntermediateLayerGetter(features, layers),
      new DeepLabHead(outChannels, nc, w(256), o.atrousRates, headInit(o)),
      aux ? new FCNHead(auxChannels, nc, headInit(o)) : null,
    );
  }) as DeepLabV3;
}

/** Lite R-ASPP with a dilated MobileNetV3-Large backbone, as torchvision.models.segmentation.lraspp_mobilenet_v3_large. */
export function lrasppMobilenetV3Large(o: SegmentationOptions = {}): LRASPP {
  const name = 'lraspp_mobilenet_v3_large';
  return segmentationModel(name, o, () => {
    if (o.auxLoss === true) throw new Error('has no auxiliary classifier (as torchvision: "This model does not use auxiliary loss")');
    const nc = classesOf(o, name);
    const w = widthScaler(o, name);
    const { features, os8, os16 } = mobilenetFeatures(o);
    const low = featureChannels(features.at(os8));
    const high = featureChannels(features.at(os16));
    const backbone = new IntermediateLayerGetter(features, { [String(os8)]: 'low', [String(os16)]: 'high' });
    return new LRASPP(backbone, new LRASPPHead(low, high, nc, w(128), headInit(o)));
  }) as LRASPP;
}

/** Whether a model is one of the segmentation models (its output a map [N, classes, H, W]). */
export const isSegmentationModel = (m: Module): m is SegmentationModel | LRASPP => m instanceof SegmentationModel || m instanceof LRASPP;
