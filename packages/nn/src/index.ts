export * from './module';
export * from './train';
export * from './init';
export * from './layers';
export * from './models';
export * from './load';
export * from './summary';
export * from './datasets';
