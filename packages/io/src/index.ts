export * from './array';
export * from './fs';
export * from './images';
export * from './formats';
