import type { Module } from '../module';
import { alexnet } from './alexnet';
import type { ModelOptions } from './common';
import { didYouMean } from '../names';
import { mobilenetV2 } from './mobilenet';
import { resnet18, resnet34, resnet50 } from './resnet';
import { squeezenet1_0, squeezenet1_1 } from './squeezenet';
import { vgg11, vgg11Bn, vgg13, vgg13Bn, vgg16, vgg16Bn, vgg19, vgg19Bn } from './vgg';
import { vitB16, vitB32, vitL16 } from './vit';

export * from './common';
export * from './alexnet';
export * from './vgg';
export * from './resnet';
export * from './squeezenet';
export * from './mobilenet';
export * from './vit';
export * from './default-layer';

/** Every model builder by its torchvision name (`vgg16_bn`, `resnet50`, …). */
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
  squeezenet1_0,
  squeezenet1_1,
  mobilenet_v2: mobilenetV2,
  vit_b_16: vitB16,
  vit_b_32: vitB32,
  vit_l_16: vitL16,
} as const satisfies Record<string, (o?: ModelOptions) => Module>;

/** A torchvision model name this package can build. */
export type ModelName = keyof typeof modelBuilders;

/** Whether `name` is a torchvision model name createModel builds (narrows a string to ModelName). */
export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(modelBuilders, name);
}

/** Builds a model by its torchvision name; from JavaScript an unknown name throws, listing the names it knows. */
export function createModel(name: ModelName, options: ModelOptions = {}): Module {
  if (!isModelName(name)) {
    throw new Error(
      `createModel: unknown model '${String(name)}'${didYouMean(String(name), Object.keys(modelBuilders))}; known models: ${Object.keys(modelBuilders).join(', ')}`,
    );
  }
  return modelBuilders[name](options);
}
export * from './bundled';
export * from './card';
