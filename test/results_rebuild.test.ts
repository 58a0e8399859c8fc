/**
 * Every committed bench results folder rebuilds at HEAD: its tables (`table.md` of a comparison,
 * `grid.md` and `best.json` of a tuning grid, `table.md` of a fleet run) are written again from its
 * committed `results.json` / `fleet.json` by today's report code (`npm run bench -- --report <dir>`,
 * `--fleet-report <dir>`) into a scratch folder and must equal the committed files byte for byte;
 * so must README's figure, `docs/first-run/learning_curve.svg`, rebuilt from that run's records
 * (`naf-ros report`). A change to the report code therefore comes with the rebuilt tables, and a number quoted from a
 * table is one the committed data still gives. (The folders of `bench/arm_seeds.ts` and
 * `bench/averaging.ts` have results.json files of their own shape, stamped by those scripts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport, type Results } from '../bench/folder_report.js';
import { fleetTable } from '../bench/fleet.js';
import { writeRunReport } from '../src/report/report.js';

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

test("README's figure rebuilds: docs/first-run/learning_curve.svg from that run's committed records", async () => {
  // The run folder's records (config.yaml, metrics.jsonl, eval.jsonl, test.json) without its
  // checkpoints; `naf-ros report` writes the figure from them (its title names the folder).
  const dir = join(mkdtempSync(join(tmpdir(), 'naf-rebuild-')), 'first-run');
  cpSync(join('docs', 'first-run'), dir, { recursive: true });
  rmSync(join(dir, 'learning_curve.svg'));
  // its params file names the URDF relative to docs/first-run: make that path absolute in the copy
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('urdf_path: ../../urdf/', `urdf_path: ${join(process.cwd(), 'urdf')}/`));
  await writeRunReport(dir);
  assert.equal(readFileSync(join(dir, 'learning_curve.svg'), 'utf8'), readFileSync(join('docs', 'first-run', 'learning_curve.svg'), 'utf8'), 'docs/first-run/learning_curve.svg differs from its rebuild: npx naf-ros report docs/first-run');
});
