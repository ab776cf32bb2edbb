import type { Tensor } from '@gradlens/tensor';
import { roiAlign } from '@gradlens/nn';
import type { Attrs } from './attrs';
import type { OpTable } from './op-context';
import { float, input, numbers } from './op-context';

// RoiAlign (10, 16) as onnxruntime and torchvision's roi_align compute it: the tensor core's roiAlign (an op, its
// backward a scatter into the map), reached through @gradlens/nn as the detection models reach it.

function roiAlignNode(x: Tensor, roiValues: number[], batchIndices: number[], attrs: Attrs, opset: number): Tensor {
  const mode = attrs.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') throw new Error(`RoiAlign mode '${mode}' is not avg or max`);
  const transform = opset >= 16 ? attrs.string('coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
  if (transform !== 'half_pixel' && transform !== 'output_half_pixel')
    throw new Error(`RoiAlign coordinate_transformation_mode '${transform}' is not half_pixel or output_half_pixel`);
  return roiAlign(x, roiValues, batchIndices, {
    aligned: transform === 'half_pixel',
    spatialScale: attrs.float('spatial_scale', 1),
    samplingRatio: attrs.int('sampling_ratio', 0),
    outputSize: [attrs.int('output_height', 1), attrs.int('output_width', 1)],
    mode,
  });
}

/** Regions of interest pooled from a feature map (Mask/Faster R-CNN's box heads). */
export const roiAlignOps: OpTable = {
  RoiAlign: {
    since: 10,
    run: ({ values, attrs, opset }) => {
      const x = float(input(values, 0));
      const rois = numbers(input(values, 1));
      const batch = numbers(input(values, 2));
      return [roiAlignNode(x, rois, batch, attrs, opset)];
    },
  },
};
