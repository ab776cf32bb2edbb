/**
 * @gradlens/onnx under Node: `loadOnnx` takes a file path (read through io's policy, external data beside
 * it) or the file's bytes. The browser entry (browser.ts) takes bytes only.
 */
import { setOnnxFileAccess } from './files';
import { nodeFileAccess } from './node-files';

setOnnxFileAccess(nodeFileAccess);

export * from './core';
