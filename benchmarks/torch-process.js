// @ts-check
/**
 * Runs one of benchmarks/*_torch.py on Debian's PyTorch (/usr/bin/python3) with `threads` cores and returns the
 * JSON objects it prints, one a line. OpenBLAS (Debian's torch calls it for linear layers and matmuls) starts
 * its own threads whatever torch.set_num_threads says, so OPENBLAS_NUM_THREADS and OMP_NUM_THREADS are set to
 * `threads`: the rows' thread count is then the count of cores PyTorch really used. OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE (set for this machine's other users) are unset in its process only. GRADLENS_TORCH_PYTHON names
 * another interpreter (a machine whose PyTorch lives in a virtual environment).
 */
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

/**
 * @param {string} script file name in benchmarks/
 * @param {string[]} args its arguments
 * @param {number} threads
 * @returns {any[]}
 */
function runTorchScript(script, args, threads) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const python = process.env.GRADLENS_TORCH_PYTHON || '/usr/bin/python3';
  const r = spawnSync(python, [path.join(__dirname, script), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${(r.stderr || String(r.error)).slice(-2000)}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

module.exports = { runTorchScript };
