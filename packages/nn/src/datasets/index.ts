export * from './idx';
export * from './fashion-mnist';
export * from './cluttered';
