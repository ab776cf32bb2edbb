export * from './optim';
export * from './schedulers';
