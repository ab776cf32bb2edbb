'use strict';
// Where the bundled weights live: data/ inside an installed package (copied there by `npm pack`),
// else the repository's weights/ folder (in a checkout, where data/ does not exist).
const fs = require('fs');
const path = require('path');

const packaged = path.join(__dirname, 'data');
const weightsDir = fs.existsSync(packaged) ? packaged : path.resolve(__dirname, '..', '..', 'weights');

exports.weightsDir = weightsDir;
exports.samplesDir = path.join(weightsDir, 'samples');
