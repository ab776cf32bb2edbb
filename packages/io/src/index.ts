/**
 * @gradlens/io for Node (the `node` and `require` export conditions): the core, with files read and
 * written through Node's fs, Node's native zlib, and pngjs's PNG encoder.
 */
import { encodePngWithPngjs } from './images/png-encode-node';
import { setPngEncoder } from './images/png';
import { setFileAccess } from './platform/files';
import { nodeFiles, nodeZlibImpl } from './platform/node';
import { setZlib } from './platform/zlib';

export * from './core';
export * from './fs';
export { readRegularFile } from './read-file';

setFileAccess(nodeFiles);
setZlib(nodeZlibImpl);
setPngEncoder(encodePngWithPngjs);
