export * from './convert';
export * from './crc32';
export * from './zip';
export * from './npy';
export * from './npz';
export * from './safetensors';
export type { Source } from './source';
export * from './pickle';
export * from './pth';
