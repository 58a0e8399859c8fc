/**
 * Every committed bench results folder rebuilds at HEAD: its tables (`table.md` of a comparison,
 * `grid.md` and `best.json` of a tuning grid, `table.md` of a fleet run) are written again from its
 * committed `results.json` / `fleet.json` by today's report code (`npm run bench -- --report <dir>`,
 * `--fleet-report <dir>`) into a scratch folder and must equal the committed files byte for byte.
 * A change to the report code therefore comes with the rebuilt tables, and a number quoted from a
 * table is one the committed data still gives. (The folders of `bench/arm_seeds.ts` and
 * `bench/averaging.ts` have results.json files of their own shape, stamped by those scripts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport, type Results } from '../bench/folder_report.js';
import { fleetTable } from '../bench/fleet.js';

const RESULTS = join('bench', 'results');
const folders = readdirSync(RESULTS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(RESULTS, d.name));

test('every results folder with results.json: table.md, grid.md and best.json rebuild unchanged', async () => {
  let compared = 0;
  for (const dir of folders.filter((d) => existsSync(join(d, 'results.json')))) {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    if (!r.info) continue; // not a `bench/run.ts` results file
    r.curves ??= [];
    const scratch = mkdtempSync(join(tmpdir(), 'naf-rebuild-'));
    await writeReport(scratch, r);
    for (const f of ['table.md', 'grid.md', 'best.json']) {
      const built = existsSync(join(scratch, f));
      assert.equal(existsSync(join(dir, f)), built, `${dir}: ${f} ${built ? 'rebuilt but not committed' : 'committed but not rebuilt'}`);
      if (!built) continue;
      assert.equal(readFileSync(join(scratch, f), 'utf8'), readFileSync(join(dir, f), 'utf8'), `${dir}/${f} differs from its rebuild: npm run bench -- --report ${dir}`);
      compared++;
    }
  }
  assert.ok(compared >= 11, `only ${compared} tables compared`);
});

test('every fleet results folder: table.md rebuilds unchanged from fleet.json', () => {
  let compared = 0;
  for (const dir of folders.filter((d) => existsSync(join(d, 'fleet.json')))) {
    const r = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8'));
    const table = fleetTable(r.runs, r.rStar, { episodes: r.info.episodes, evalEvery: r.info.evalEvery });
    assert.equal(`${table}\n`, readFileSync(join(dir, 'table.md'), 'utf8'), `${dir}/table.md differs from its rebuild: npm run bench -- --fleet-report ${dir}`);
    compared++;
  }
  assert.ok(compared >= 2);
});

test('bench/results/PROVENANCE.md lists every results folder', () => {
  const listed = readFileSync(join(RESULTS, 'PROVENANCE.md'), 'utf8');
  for (const dir of folders) assert.ok(listed.includes(`| \`${dir.slice(RESULTS.length + 1)}\` |`), `${dir} is not in bench/results/PROVENANCE.md`);
});
