/**
 * Pools the runs of several bench results folders per method (e.g. two 10-seed factorials whose
 * settings differ only slightly) and writes the bench's interval tables over all of them
 * (`intervalTables` of `report.ts`: area, level sweep, held-out success and median distance with
 * bootstrap intervals, differences from the matched control and from Algorithm 2), plus how many
 * runs per method reach >= 18 of 20 held-out starts:
 *
 *   node --import tsx bench/pool.ts --dirs <results dir>,<results dir> --methods m1,m2,... --out <file.md>
 *
 * Each folder's commit and settings are listed above the tables: pooling is only meaningful where
 * they agree (the caller says why).
 */
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { intervalTables, ROBUST_FRACTION, type BenchRun } from './report.js';

const o = new Command()
  .requiredOption('--dirs <list>', 'comma list of results folders (each with results.json)')
  .requiredOption('--methods <list>', 'comma list of methods to pool')
  .requiredOption('--out <file.md>', 'where to write the tables')
  .parse().opts<{ dirs: string; methods: string; out: string }>();

interface Folder { dir: string; info: { commit?: string; tuned?: string | null; set?: string[]; labels: Record<string, string> }; curves: BenchRun[] }
const folders: Folder[] = o.dirs.split(',').map((dir) => ({ dir, ...JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) }));
const methods = o.methods.split(',');
const groups = methods.map((m) => folders.flatMap((f) => f.curves.filter((c) => c.method === m && c.test)));
const runs = groups.flat();
const E = Math.max(...runs.flatMap((r) => r.points.map((p) => p.episode)));
const out = ['# Pooled runs', '', `\`node --import tsx bench/pool.ts --dirs ${o.dirs} --methods ${o.methods} --out ${o.out}\``, '',
  ...folders.map((f) => `* \`${f.dir}\`: commit ${f.info.commit?.slice(0, 7) ?? 'not recorded'}, settings ${f.info.tuned ?? 'as configured'}${f.info.set?.length ? `, ${f.info.set.map((s) => `--set ${s}`).join(' ')}` : ''}`), '',
  `Every run of each method in these folders, together (the "seeds" column counts runs).`, '',
  ...intervalTables(runs, groups, (m) => m, E),
  `| method | runs | runs with >= ${ROBUST_FRACTION * 100} % of the held-out starts within 2 cm |`, '|---|---|---|',
  ...groups.map((g, i) => `| ${methods[i]} | ${g.length} | ${g.filter((r) => r.test!.final.successes >= ROBUST_FRACTION * r.test!.episodes).length} |`)];
writeFileSync(o.out, out.join('\n') + '\n');
console.log(out.join('\n'));
