// The packages as a user gets them: scripts/pack-install-check.js packs every package, installs the
// tarballs into a fresh folder, runs a strict TypeScript, an ES module and a CommonJS program there,
// loads an ONNX export with @gradlens/onnx, `npx gradlens demo --quick`, and `gradlens serve` serving the
// page of the installed @gradlens/web (about 1–3 minutes on 2 shared cores).
import { execFileSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

test('npm pack → fresh install → TypeScript, ESM, CommonJS programs and gradlens demo --quick', () => {
  let out = '';
  try {
    out = execFileSync(process.execPath, [path.join(root, 'scripts', 'pack-install-check.js')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`pack-install-check failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
  const steps = [
    'packed 9 packages',
    'strict TypeScript program compiled and ran',
    'ES module program ran',
    'CommonJS program ran',
    'ONNX program loaded',
    'demo --quick wrote',
    'served the installed page',
  ];
  for (const step of steps) {
    expect(out).toContain(step);
  }
}, 420_000);
