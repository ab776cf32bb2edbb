import type { Module } from '../module';
import { layers } from '../summary';
import { AlexNet } from './alexnet';
import { bundledModels, GapNet, SmallVGG } from './bundled';
import { ConvNeXt } from './convnext';
import { DenseNet } from './densenet';
import { EfficientNet } from './efficientnet';
import { MobileNetV2 } from './mobilenet';
import { MobileNetV3 } from './mobilenet-v3';
import { ResNet } from './resnet';
import { SqueezeNet } from './squeezenet';
import { SwinTransformer } from './swin';
import { VGG } from './vgg';
import { VisionTransformer } from './vit';
import { GoogLeNet } from './googlenet';
import { Inception3 } from './inception';
import { MaxVit } from './maxvit';
import { MNASNet } from './mnasnet';
import { RegNet } from './regnet';
import { ShuffleNetV2 } from './shufflenet';
import { isSegmentationModel } from './segmentation';

/** The last ReLU that is a direct child of `features` (`features.29` in VGG16), or undefined. */
function lastFeatureRelu(model: Module): string | undefined {
  const relus = model.namedModules().filter(([p, m]) => /^features\.\d+$/.test(p) && /^ReLU/.test(m.constructor.name));
  return relus[relus.length - 1]?.[0];
}

/** A model that knows its own default CAM layer (an imported ONNX graph, whose class says nothing of its architecture). */
interface OwnDefaultCamLayer {
  defaultCamLayer(inputShape?: readonly number[]): string;
}

function hasOwnDefault(model: Module): model is Module & OwnDefaultCamLayer {
  return typeof (model as Partial<OwnDefaultCamLayer>).defaultCamLayer === 'function';
}

/**
 * The layer CAM methods read when none is named (the rule the CLI uses too): the bundled model's
 * `targetLayer`; `layer4` for ResNets (ResNeXt, Wide ResNet too); `features` for SqueezeNet, MobileNetV2
 * and V3, EfficientNet, DenseNet (norm5's output, before the functional ReLU) and ConvNeXt (the last
 * block's output); the last ReLU of `features` for AlexNet and VGG (the last conv block's activation before
 * its max-pool, as the reference scripts use: `features.11`, `features.29`); the last encoder layer's
 * `ln_1` for vision transformers (pytorch-grad-cam's choice; its tokens are reshaped); the last block's `norm1`
 * for Swin Transformers (pytorch-grad-cam's choice; channels-last, moved to dim 1 by the CAM family); RegNet
 * `trunk_output`, ShuffleNetV2 `conv5`, MNASNet `layers`, GoogLeNet `inception5b` and Inception v3 `Mixed_7c`
 * (pytorch-grad-cam's choices: the last 4-D feature map before the pooling, after its ReLU); MaxViT's last block
 * (`blocks.3`, the last [N, C, h, w] map before the classifier's pooling); the segmentation models' backbone output
 * (`backbone.layer4` for the ResNet ones, as pytorch-grad-cam's segmentation tutorial; `backbone.16`, the
 * output-stride-16 map, for the MobileNetV3 ones); otherwise the
 * last top-level module whose output is [N, K, h, w] with h·w > 1 (a global pool's 1×1 output is taken only
 * when no larger map ran), found by running the model once on zeros of `inputShape` (default
 * [1, 3, 224, 224]). A model with its own `defaultCamLayer` method, such as an imported ONNX graph,
 * answers for itself.
 */
export function defaultCamLayer(model: Module, inputShape: readonly number[] = [1, 3, 224, 224]): string {
  if (hasOwnDefault(model)) return model.defaultCamLayer(inputShape);
  if (model instanceof GapNet) return bundledModels.gapnet.targetLayer;
  if (model instanceof SmallVGG) return bundledModels.smallvgg.targetLayer;
  if (model instanceof ResNet) return 'layer4';
  if (isSegmentationModel(model)) return `backbone.${model.backbone.lastLayer}`;
  if (model instanceof RegNet) return 'trunk_output';
  if (model instanceof ShuffleNetV2) return 'conv5';
  if (model instanceof MNASNet) return 'layers';
  if (model instanceof GoogLeNet) return 'inception5b';
  if (model instanceof Inception3) return 'Mixed_7c';
  if (model instanceof MaxVit) return `blocks.${model.config.blockChannels.length - 1}`;
  if (model instanceof VisionTransformer) return `encoder.layers.encoder_layer_${model.config.numLayers - 1}.ln_1`;
  if (model instanceof SwinTransformer) return `features.${2 * model.config.depths.length - 1}.${model.config.depths.at(-1)! - 1}.norm1`;
  if (
    model instanceof SqueezeNet ||
    model instanceof MobileNetV2 ||
    model instanceof MobileNetV3 ||
    model instanceof EfficientNet ||
    model instanceof DenseNet ||
    model instanceof ConvNeXt
  ) {
    return 'features';
  }
  if (model instanceof VGG || model instanceof AlexNet) {
    const relu = lastFeatureRelu(model);
    if (relu) return relu;
  }
  const rows = layers(model, [1, ...inputShape.slice(1)]).filter((r) => r.outputShape?.length === 4 && r.depth === 0);
  // A 1×1 output is a global pool's, not a map (the ONNX importer's rule too); it is taken only when
  // nothing larger ran (an input so small that the last conv block's map is 1×1 as well).
  const maps = rows.filter((r) => r.outputShape![2]! * r.outputShape![3]! > 1);
  const last = maps[maps.length - 1] ?? rows[rows.length - 1];
  if (!last) {
    throw new Error(
      `defaultCamLayer: ${model.constructor.name} has no top-level module with a 4-D output [N, K, h, w] to read; name the layer (see layers(model, shape))`,
    );
  }
  return last.path;
}
