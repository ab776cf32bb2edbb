import type { Module } from '../module';
import { alexnet } from './alexnet';
import type { ModelOptions } from './common';
import { didYouMean } from '../names';
import { mobilenetV2 } from './mobilenet';
import { convnextBase, convnextLarge, convnextSmall, convnextTiny } from './convnext';
import { densenet121, densenet161, densenet169, densenet201 } from './densenet';
import {
  efficientnetB0,
  efficientnetB1,
  efficientnetB2,
  efficientnetB3,
  efficientnetB4,
  efficientnetB5,
  efficientnetB6,
  efficientnetB7,
  efficientnetV2L,
  efficientnetV2M,
  efficientnetV2S,
} from './efficientnet';
import { mobilenetV3Large, mobilenetV3Small } from './mobilenet-v3';
import {
  resnet101,
  resnet152,
  resnet18,
  resnet34,
  resnet50,
  resnext101_32x8d,
  resnext101_64x4d,
  resnext50_32x4d,
  wide_resnet101_2,
  wide_resnet50_2,
} from './resnet';
import { squeezenet1_0, squeezenet1_1 } from './squeezenet';
import { vgg11, vgg11Bn, vgg13, vgg13Bn, vgg16, vgg16Bn, vgg19, vgg19Bn } from './vgg';
import { vitB16, vitB32, vitH14, vitL16, vitL32 } from './vit';
import { swinB, swinS, swinT, swinV2B, swinV2S, swinV2T } from './swin';
import {
  regnetX16gf,
  regnetX1_6gf,
  regnetX32gf,
  regnetX3_2gf,
  regnetX400mf,
  regnetX800mf,
  regnetX8gf,
  regnetY128gf,
  regnetY16gf,
  regnetY1_6gf,
  regnetY32gf,
  regnetY3_2gf,
  regnetY400mf,
  regnetY800mf,
  regnetY8gf,
} from './regnet';
import { shufflenetV2X0_5, shufflenetV2X1_0, shufflenetV2X1_5, shufflenetV2X2_0 } from './shufflenet';
import { mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3 } from './mnasnet';
import { googlenet } from './googlenet';
import { inceptionV3 } from './inception';
import { maxvitT } from './maxvit';
import {
  deeplabv3MobilenetV3Large,
  deeplabv3Resnet101,
  deeplabv3Resnet50,
  fcnResnet101,
  fcnResnet50,
  lrasppMobilenetV3Large,
} from './segmentation';

export * from './common';
export * from './alexnet';
export * from './vgg';
export * from './resnet';
export * from './squeezenet';
export * from './mobilenet';
export * from './mobilenet-v3';
export * from './densenet';
export * from './efficientnet';
export * from './convnext';
export * from './vit';
export * from './swin';
export * from './swin-window';
export * from './swin-blocks';
export * from './swin-v2';
export * from './default-layer';
export * from './regnet';
export * from './shufflenet';
export * from './mnasnet';
export * from './basic-conv';
export * from './googlenet';
export * from './inception';
export * from './maxvit-parts';
export * from './maxvit';
export * from './segmentation-heads';
export * from './segmentation';
export * from './detection';
export * from './file-options';

/**
 * Every model builder by its torchvision name (`vgg16_bn`, `resnet50`, …), the classifiers and the semantic
 * segmentation models (`deeplabv3_resnet50`, …: output [N, classes, H, W]).
 */
export const modelBuilders = {
  alexnet,
  vgg11,
  vgg11_bn: vgg11Bn,
  vgg13,
  vgg13_bn: vgg13Bn,
  vgg16,
  vgg16_bn: vgg16Bn,
  vgg19,
  vgg19_bn: vgg19Bn,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wide_resnet50_2,
  wide_resnet101_2,
  densenet121,
  densenet161,
  densenet169,
  densenet201,
  squeezenet1_0,
  squeezenet1_1,
  mobilenet_v2: mobilenetV2,
  mobilenet_v3_large: mobilenetV3Large,
  mobilenet_v3_small: mobilenetV3Small,
  efficientnet_b0: efficientnetB0,
  efficientnet_b1: efficientnetB1,
  efficientnet_b2: efficientnetB2,
  efficientnet_b3: efficientnetB3,
  efficientnet_b4: efficientnetB4,
  efficientnet_b5: efficientnetB5,
  efficientnet_b6: efficientnetB6,
  efficientnet_b7: efficientnetB7,
  efficientnet_v2_s: efficientnetV2S,
  efficientnet_v2_m: efficientnetV2M,
  efficientnet_v2_l: efficientnetV2L,
  convnext_tiny: convnextTiny,
  convnext_small: convnextSmall,
  convnext_base: convnextBase,
  convnext_large: convnextLarge,
  vit_b_16: vitB16,
  vit_b_32: vitB32,
  vit_l_16: vitL16,
  vit_l_32: vitL32,
  vit_h_14: vitH14,
  swin_t: swinT,
  swin_s: swinS,
  swin_b: swinB,
  swin_v2_t: swinV2T,
  swin_v2_s: swinV2S,
  swin_v2_b: swinV2B,
  regnet_y_400mf: regnetY400mf,
  regnet_y_800mf: regnetY800mf,
  regnet_y_1_6gf: regnetY1_6gf,
  regnet_y_3_2gf: regnetY3_2gf,
  regnet_y_8gf: regnetY8gf,
  regnet_y_16gf: regnetY16gf,
  regnet_y_32gf: regnetY32gf,
  regnet_y_128gf: regnetY128gf,
  regnet_x_400mf: regnetX400mf,
  regnet_x_800mf: regnetX800mf,
  regnet_x_1_6gf: regnetX1_6gf,
  regnet_x_3_2gf: regnetX3_2gf,
  regnet_x_8gf: regnetX8gf,
  regnet_x_16gf: regnetX16gf,
  regnet_x_32gf: regnetX32gf,
  shufflenet_v2_x0_5: shufflenetV2X0_5,
  shufflenet_v2_x1_0: shufflenetV2X1_0,
  shufflenet_v2_x1_5: shufflenetV2X1_5,
  shufflenet_v2_x2_0: shufflenetV2X2_0,
  mnasnet0_5,
  mnasnet0_75,
  mnasnet1_0,
  mnasnet1_3,
  googlenet,
  inception_v3: inceptionV3,
  maxvit_t: maxvitT,
  fcn_resnet50: fcnResnet50,
  fcn_resnet101: fcnResnet101,
  deeplabv3_resnet50: deeplabv3Resnet50,
  deeplabv3_resnet101: deeplabv3Resnet101,
  deeplabv3_mobilenet_v3_large: deeplabv3MobilenetV3Large,
  lraspp_mobilenet_v3_large: lrasppMobilenetV3Large,
} as const satisfies Record<string, (o?: ModelOptions) => Module>;

/** A torchvision model name this package can build. */
export type ModelName = keyof typeof modelBuilders;

/** Whether `name` is a torchvision model name createModel builds (narrows a string to ModelName). */
export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(modelBuilders, name);
}

/** The options the builder of model `N` takes (ModelOptions and its own: a segmentation model's `auxLoss`, …). */
export type ModelBuildOptions<N extends ModelName> = NonNullable<Parameters<(typeof modelBuilders)[N]>[0]>;

/** Builds a model by its torchvision name; from JavaScript an unknown name throws, listing the names it knows. */
export function createModel<N extends ModelName>(name: N, options: ModelBuildOptions<N> = {}): Module {
  if (!isModelName(name)) {
    throw new Error(
      `createModel: unknown model '${String(name)}'${didYouMean(String(name), Object.keys(modelBuilders))}; known models: ${Object.keys(modelBuilders).join(', ')}`,
    );
  }
  return (modelBuilders[name] as (o: ModelBuildOptions<N>) => Module)(options);
}
export * from './bundled';
export * from './card';
export * from './eval-transform';
