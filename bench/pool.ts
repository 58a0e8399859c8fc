/**
 * Pools the runs of several bench results folders per method (e.g. two 10-seed factorials whose
 * settings differ only slightly) and writes the interval table over all of them:
 *
 *   node --import tsx bench/pool.ts --dirs <results dir>,<results dir> --methods m1,m2,... --out <file.md>
 *
 * Per method: the area under the test-return curve, the held-out final successes (and how many
 * runs reach >= 18 of 20) and the median final distance, mean over all pooled runs [percentile
 * bootstrap 95 % interval, `bench/stats.ts`]; then each method minus each control (`--controls`,
 * default naf_matched,naf_tvlg), runs resampled independently. Each folder's commit and settings
 * are listed above the table: pooling is only meaningful where they agree (the caller says why).
 */
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRun } from './report.js';
import { bootstrapCi, bootstrapDiffCi, curveArea, mean } from './stats.js';

const o = new Command()
  .requiredOption('--dirs <list>', 'comma list of results folders (each with results.json)')
  .requiredOption('--methods <list>', 'comma list of methods to pool')
  .option('--controls <list>', 'methods to take differences against', 'naf_matched,naf_tvlg')
  .requiredOption('--out <file.md>', 'where to write the table')
  .parse().opts<{ dirs: string; methods: string; controls: string; out: string }>();

interface Folder { dir: string; info: { commit?: string; tuned?: string | null; set?: string[]; labels: Record<string, string> }; curves: BenchRun[] }
const folders: Folder[] = o.dirs.split(',').map((dir) => ({ dir, ...JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) }));
const methods = o.methods.split(',');
const runs = (m: string) => folders.flatMap((f) => f.curves.filter((c) => c.method === m && c.test));
const metrics: [string, (r: BenchRun) => number, number][] = [
  ['area under the test-return curve', (r) => curveArea(r), 3],
  ['held-out final: within 2 cm (of 20)', (r) => r.test!.final.successes, 2],
  ['median final distance, cm', (r) => 100 * r.test!.final.medianDistance, 2],
];
const ci = (v: number[], d: number, seed: string) => { const [lo, hi] = bootstrapCi(v, mean, seed); return `${mean(v).toFixed(d)} [${lo.toFixed(d)}, ${hi.toFixed(d)}]`; };
const out = ['# Pooled runs', '', `\`node --import tsx bench/pool.ts --dirs ${o.dirs} --methods ${o.methods} --controls ${o.controls} --out ${o.out}\``, '',
  ...folders.map((f) => `* \`${f.dir}\`: commit ${f.info.commit?.slice(0, 7) ?? 'not recorded'}, settings ${f.info.tuned ?? 'as configured'}${f.info.set?.length ? `, ${f.info.set.map((s) => `--set ${s}`).join(' ')}` : ''}`), '',
  `| method | runs | ${metrics.map((m) => m[0]).join(' | ')} | runs with >= 18 of 20 |`, `|---|---|${metrics.map(() => '---').join('|')}|---|`];
for (const m of methods) {
  const r = runs(m);
  out.push(`| ${m} | ${r.length} | ${metrics.map(([n, g, d]) => ci(r.map(g), d, `pool:${n}:${m}`)).join(' | ')} | ${r.filter((x) => x.test!.final.successes >= 18).length} |`);
}
for (const ctl of o.controls.split(',').filter((c) => methods.includes(c))) {
  out.push('', `**Against ${ctl}** (difference of the means, bootstrap 95 % interval, runs resampled independently)`, '', `| method | ${metrics.map((m) => m[0]).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`);
  for (const m of methods.filter((x) => x !== ctl)) {
    out.push(`| ${m} | ${metrics.map(([n, g, d]) => {
      const [lo, hi] = bootstrapDiffCi(runs(m).map(g), runs(ctl).map(g), `pooldiff:${n}:${m}:${ctl}`);
      return `${(mean(runs(m).map(g)) - mean(runs(ctl).map(g))).toFixed(d)} [${lo.toFixed(d)}, ${hi.toFixed(d)}]`;
    }).join(' | ')} |`);
  }
}
out.push('', '* Mean over all pooled runs [percentile-bootstrap 95 % interval: 10000 resamples with replacement, fixed resampling seed]; area: the trapezoid integral of the test return over training divided by its span (`bench/stats.ts`); held-out: the final policy on the run\'s 20 held-out starts.');
writeFileSync(o.out, out.join('\n') + '\n');
console.log(out.join('\n'));
