/** @gradlens/onnx on any platform: the importer, which reads no file itself (index.ts and browser.ts add the platform). */
export { loadOnnx, OnnxModel } from './model';
export type { LoadOnnxOptions, OutputValues } from './model';
export { onnxOps, onnxValueOps, supportedContribOps, supportedOps, OPSET_RANGE } from './op-table';
export { contribOps } from './ops-contrib';
export { modulePath, modulePaths, OnnxScope } from './scopes';
export { decodeModel, decodeTensor } from './proto';
export { readTensorProto } from './initializers';
export { Const, OnnxOptional, OnnxSequence } from './values';
export type { GraphValue, Value } from './values';
export { classNamesFromMetadata, CLASS_NAME_KEYS } from './class-names';
export { setOnnxFileAccess } from './files';
export type { OnnxFileAccess, ExternalEntries } from './files';
export { LUMA_WEIGHTS, pictureLayout, pictureShape, toGraphLayout } from './picture-input';
export type { PictureLayout } from './picture-input';
export { decodeYolo, isYoloMetadata, yoloDetections, yoloLayout, yoloLevel, yoloLevelLayer, yoloTarget } from './yolo';
export type { YoloDetection, YoloLayout, YoloOptions } from './yolo';
