export * from './optim';
export * from './schedulers';
export * from './data';
export * from './progress';
export * from './checkpoint';
export * from './fit';
