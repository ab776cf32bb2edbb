import { readFileSync } from 'fs';
import { cpuBackend, gradRules } from '../src';

interface OpMapScript {
  renderReadme(current: string): string;
  readOps(): { name: string; attrs: string }[];
  README: string;
}
// The generator is plain Node (scripts/op-map.js) so that it runs without a build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const script = require('../../../scripts/op-map.js') as OpMapScript;

describe('op map (packages/tensor/README.md)', () => {
  it('is what scripts/op-map.js generates from the sources (run `node scripts/op-map.js` after adding an op)', () => {
    const current = readFileSync(script.README, 'utf8');
    expect(script.renderReadme(current)).toBe(current);
  });

  it('reads the same op names as the rule table and the CPU kernel table hold', () => {
    const names = script
      .readOps()
      .map((o) => o.name)
      .sort();
    expect(names).toEqual(Object.keys(gradRules).sort());
    expect(names).toEqual(Object.keys(cpuBackend.kernels).sort());
  });

  it('has one row per op, each naming a rule file and a CPU kernel file', () => {
    const rows = readFileSync(script.README, 'utf8')
      .split('\n')
      .filter((l) => /^\| `\w+` \|/.test(l));
    expect(rows.map((r) => /^\| `(\w+)`/.exec(r)![1]).sort()).toEqual(Object.keys(gradRules).sort());
    for (const row of rows) {
      const cells = row.split(' | ');
      expect(cells[4]).toMatch(/src\/autodiff\/rules\//);
      expect(cells[5]).toMatch(/src\/backends\/cpu\//);
    }
  });
});
