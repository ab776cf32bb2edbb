// @ts-check
/**
 * Prints one line per backend from a jest --json report of packages/backend-gpujs: how many
 * conformance cases passed and failed on each (`conformance on <label>`), and the other backend tests.
 *
 *   node benchmarks/gpu/conformance-summary.js conformance.json
 */
const report = require(require('path').resolve(process.argv[2] || 'conformance.json'));
/** @type {Record<string, { pass: number, fail: number, skip: number, failed: string[] }>} */
const by = {};
for (const f of report.testResults) {
  for (const t of f.assertionResults) {
    const m = t.ancestorTitles.join(' ').match(/conformance on (\S+)/);
    const k = m ? m[1] : 'backend tests';
    const e = (by[k] = by[k] || { pass: 0, fail: 0, skip: 0, failed: [] });
    if (t.status === 'passed') e.pass++;
    else if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') e.skip++;
    else {
      e.fail++;
      e.failed.push(t.title);
    }
  }
  if (f.status === 'failed' && f.assertionResults.length === 0)
    console.log(`${f.name}: ${String(f.message).split('\n').slice(0, 3).join(' ')}`);
}
for (const [k, v] of Object.entries(by)) {
  console.log(
    `${k.padEnd(20)} ${v.pass} passed, ${v.fail} failed${v.skip ? `, ${v.skip} skipped` : ''}${v.fail ? `: ${v.failed.slice(0, 5).join('; ')}` : ''}`,
  );
}
