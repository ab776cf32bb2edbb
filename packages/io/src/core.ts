/**
 * Everything of @gradlens/io that runs on any JavaScript platform: decoders and encoders of bytes
 * (PNG/JPEG, .npy/.npz, safetensors, .pth), preprocessing, colormaps. Functions that take a path go
 * through the installed file access (the Node entry, index.ts, installs Node's; browser.ts none).
 */
export * from './array';
export * from './read-policy';
export * from './images';
export * from './formats';
export { setFileAccess } from './platform/files';
export type { FileAccess } from './platform/files';
export { setZlib, portableZlib } from './platform/zlib';
export type { Zlib } from './platform/zlib';
