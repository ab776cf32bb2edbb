// @ts-check
/**
 * The smallest end-to-end gradlens run: train a tiny CNN to tell horizontal from vertical bars,
 * then ask it why, with one recorded forward pass differentiated three ways (vanilla, guided
 * backprop, deconvnet). Prints the saliency maps as text. Uses only @gradlens/tensor.
 */
const T = require('@gradlens/tensor');

const SIZE = 8;
const gen = new T.Generator(7);

/** An 8×8 image with one bright bar (row or column) and noise; label 0 = horizontal, 1 = vertical. */
function sample() {
  const label = gen.int(2);
  const at = 1 + gen.int(SIZE - 2);
  const img = new Float32Array(SIZE * SIZE);
  for (let i = 0; i < img.length; i++) img[i] = 0.3 * gen.normal();
  for (let k = 0; k < SIZE; k++) img[label === 0 ? at * SIZE + k : k * SIZE + at] += 1;
  return { img, label };
}

function batch(n) {
  const xs = new Float32Array(n * SIZE * SIZE);
  const ys = [];
  for (let i = 0; i < n; i++) {
    const { img, label } = sample();
    xs.set(img, i * SIZE * SIZE);
    ys.push(label);
  }
  return { x: T.tensor(xs, [n, 1, SIZE, SIZE]), y: ys };
}

const scale = (shape, s) => T.mul(T.randn(shape, { generator: gen }), s);
const params = {
  conv: T.keep(scale([4, 1, 3, 3], 0.5)),
  convB: T.keep(T.zeros([4])),
  fc: T.keep(scale([2, 4 * 4 * 4], 0.2)),
  fcB: T.keep(T.zeros([2])),
};

/** conv 3×3 → ReLU → 2×2 max-pool → linear, each op inside a named scope so its tape node carries the name. */
function net(x) {
  const h = T.withScope('conv', () => T.conv2d(x, params.conv, params.convB, { padding: 1 }));
  const a = T.withScope('relu', () => T.relu(h));
  const p = T.withScope('pool', () => T.maxPool2d(a, { kernelSize: 2 }));
  return T.withScope('fc', () => T.linear(T.flatten(p, 1), params.fc, params.fcB));
}

const started = Date.now();
for (let step = 1; step <= 150; step++) {
  T.tidy(() => {
    const { x, y } = batch(32);
    const list = [params.conv, params.convB, params.fc, params.fcB];
    const { output: loss, tape } = T.record(() => T.crossEntropy(net(x), y));
    const grads = tape.grad(loss, list);
    // Plain SGD, in place: parameters are the only tensors gradlens lets you update.
    list.forEach((p, i) => {
      const v = p.values();
      const g = grads[i].values();
      for (let j = 0; j < v.length; j++) v[j] -= 0.1 * g[j];
    });
    if (step % 50 === 0) process.stderr.write(`step ${step}: loss ${loss.item().toFixed(4)}\n`);
    tape.dispose();
  });
}

const test = batch(500);
const predicted = T.tidy(() => T.argmax(net(test.x), { dim: 1 }).dataSync());
const accuracy = test.y.filter((label, i) => predicted[i] === label).length / test.y.length;
console.log(`trained in ${Date.now() - started} ms; test accuracy ${(accuracy * 100).toFixed(1)}%`);

// One forward pass, recorded once, differentiated with three ReLU rules.
const { img, label } = sample();
const x = T.tensor(img, [1, 1, SIZE, SIZE]);
const { output: logits, tape } = T.record(() => net(x));
const seed = T.tensor([label === 0 ? [1, 0] : [0, 1]]);
const rules = {
  vanilla: {},
  guided: { relu: (dy, { inputs: [input] }) => [T.mul(T.relu(dy), T.cast(T.gt(input, 0), dy.dtype))] },
  deconvnet: { relu: (dy) => [T.relu(dy)] },
};
const shades = ' .:-=+*#%@';
const draw = (values) => {
  const max = Math.max(...values.map(Math.abs)) || 1;
  const rows = [];
  for (let r = 0; r < SIZE; r++) {
    let line = '';
    for (let c = 0; c < SIZE; c++) line += shades[Math.min(9, Math.floor((Math.abs(values[r * SIZE + c]) / max) * 9.99))].repeat(2);
    rows.push(line);
  }
  return rows;
};
const columns = [['input', draw(Array.from(img))]];
for (const [name, r] of Object.entries(rules)) {
  const [g] = tape.grad(logits, [x], { rules: r, gradOutputs: [seed] });
  columns.push([name, draw(Array.from(g.dataSync()))]);
}
console.log(`\nwhy "${label === 0 ? 'horizontal' : 'vertical'}"? |gradient| of the class score, one forward pass, three rules:\n`);
console.log(columns.map(([n]) => n.padEnd(SIZE * 2 + 2)).join(''));
for (let r = 0; r < SIZE; r++) console.log(columns.map(([, rows]) => rows[r].padEnd(SIZE * 2 + 2)).join(''));
console.log(`\nactivation 'relu' read from the tape by name: shape [${tape.activation('relu').shape.join(', ')}]`);
tape.dispose();
