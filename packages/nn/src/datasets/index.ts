export * from './classes';
export * from './idx';
export * from './fashion-mnist';
export * from './cluttered';
