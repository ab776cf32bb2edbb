#!/usr/bin/env node
'use strict';
// The installed `gradlens` command. It lives outside dist/ so that `npm ci` on a fresh clone can link
// it before the build (the root `prepare` script) has written dist/main.js, which it runs.
try {
  require('../dist/main.js').run();
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/main.js')) {
    process.stderr.write('gradlens: the command is not built yet; run `npx tsc -b` (or `npm run build`) at the repository root\n');
    process.exitCode = 1;
  } else {
    throw e;
  }
}
