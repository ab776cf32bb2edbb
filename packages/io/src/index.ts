export * from './array';
export * from './images';
export * from './formats';
