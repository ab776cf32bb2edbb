/**
 * What every method shares, one file per concern: targets, options and input checks, recorded passes,
 * scoring, layer lookup and map utilities. This index only re-exports.
 */
export * from './targets';
export * from './options';
export * from './pass';
export * from './scoring';
export * from './layers';
export * from './maps';
