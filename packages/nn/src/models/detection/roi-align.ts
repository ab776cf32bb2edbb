// RoiAlign lives in the tensor core (one op whose backward scatters into the map: no gathered copies of it); the
// detection models' MultiScaleRoIAlign and @gradlens/onnx's RoiAlign op reach it from here, as before.
export { roiAlign } from '@gradlens/tensor';
export type { RoiAlignOptions } from '@gradlens/tensor';
