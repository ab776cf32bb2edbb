export {};
export * from './train';
