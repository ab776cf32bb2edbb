#!/usr/bin/env node
'use strict';
// Writes packages/onnx/src/onnx-proto.ts: packages/onnx/onnx.proto as a string constant, so @gradlens/onnx
// parses its schema without reading a file (its browser entry cannot). Run after changing onnx.proto;
// packages/onnx/test/schema.test.ts fails until the two agree.
const fs = require('fs');
const path = require('path');

const dir = path.resolve(__dirname, '..', 'packages', 'onnx');
const text = fs.readFileSync(path.join(dir, 'onnx.proto'), 'utf8');
const out = `/**
 * ONNX's own onnx.proto (the file beside src/ and dist/, from the onnx Python package) as a string, so the
 * schema is parsed the same way under Node and in a browser, where no file can be read. Written by
 * \`node scripts/make-onnx-schema.js\`; test/schema.test.ts checks it still equals onnx.proto.
 */
export const ONNX_PROTO = ${JSON.stringify(text)};
`;
const file = path.join(dir, 'src', 'onnx-proto.ts');
const tmp = `${file}.${process.pid}.tmp`;
fs.writeFileSync(tmp, out);
fs.renameSync(tmp, file);
console.log(`wrote ${path.relative(process.cwd(), file)} (${text.length} characters of onnx.proto)`);
