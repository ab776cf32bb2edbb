export * from './array';
export * from './fs';
export * from './read-policy';
export * from './images';
export * from './formats';
