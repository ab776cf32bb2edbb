/**
 * @gradlens/explain for browsers (the `browser` export condition): every method and metric; saving
 * maps to files (`saveMap`, `saveNpy`) needs Node and says so.
 */
export * from './index';
