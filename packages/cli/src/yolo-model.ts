import * as path from 'path';
import { CliError } from './args';
import type { LoadedModel, LoadOptions } from './model';
import { yoloGridLayer } from './yolo';
import type { YoloModelInfo } from './yolo';

/**
 * `--model yolo.onnx` (an Ultralytics detection export): pictures letterboxed to the graph's input in [0, 1] (no mean
 * or std), its detections listed per picture, detection k explained as `--target k`. The default CAM layer is the
 * stride-8 grid's (each detection then gets its own grid's layer unless --layer is given).
 */
export function loadYolo(info: YoloModelInfo, file: string, options: LoadOptions): LoadedModel {
  const [, channels, h, w] = info.inputShape as [number, number, number, number];
  if (channels !== 3 || info.model.pictureLayout?.channelsLast)
    throw new CliError(
      `${file}: a YOLO model takes RGB pictures [1, 3, H, W]; this one takes [${info.model.graphInputShape.join(', ')}]`,
      2,
    );
  const layer = yoloGridLayer(info, 0);
  options.beforeWeights?.(info.model, layer, null);
  return {
    model: info.model,
    name: path.basename(file),
    bundled: false,
    card: null,
    // a non-square input (imgsz [640, 480]) as the CLI keeps one; the pictures are letterboxed to it all the same
    size: Math.min(h, w),
    ...(h === w ? {} : { height: h, width: w }),
    mean: [0, 0, 0],
    std: [1, 1, 1],
    // --target k is a detection, not a class: the class names describe detections
    classes: null,
    defaultLayer: layer,
    weights: file,
    yolo: info,
  };
}
