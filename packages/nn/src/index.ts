/**
 * @gradlens/nn for Node (the `node` and `require` export conditions): the core, plus what needs files
 * or threads: the bundled weights folder, datasets, data-parallel training.
 */
export * from './core';
export * from './models/bundled-files';
export * from './datasets';
export * from './train/data-parallel';
