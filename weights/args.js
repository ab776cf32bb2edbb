// @ts-check
'use strict';
/**
 * The flag reader of the scripts in this folder: `--name value`, or `--name` alone for 'true'.
 * @param {string} name @param {string} fallback
 */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}

module.exports = { arg };
