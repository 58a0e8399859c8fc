/**
 * The outputs of a bench results folder, rebuilt from its `results.json` alone (`npm run bench --
 * --report <dir>`, and at the end of every bench run): `table.md` and `curves-<task>.svg` of a
 * comparison, `grid.md` and `best.json` of a tuning grid. `test/results_rebuild.test.ts` rebuilds
 * every committed folder and compares.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { METHODS, TASKS } from './methods.js';
import { learningCurveSvg, tables, type BenchRun } from './report.js';
import { bestSettings, gridTable, settingName, type AxisSpec, type GridRun } from './grid.js';
import { paramsFileDir, resolveFileRelative } from '../src/config/params_file.js';

type Params = Record<string, unknown>;

/** What a bench run records about itself (results.json `info`). */
export interface Info {
  date: string; quick: boolean; backend: string; cores: number; cpu?: string; node: string; tfjs: string; config: string;
  episodes: number; seeds: number; firstSeed?: number; evalEvery: number; methods: string[]; tasks: string[];
  labels: Record<string, string>; kinds: Record<string, 'naf' | 'ddpg'>; set: string[]; tuned: string | null; rStarMethods: string[] | null;
  /** provenance (absent in results of older benches): commit, uncommitted changes, sha256 of the base parameters (16 hex), the update path */
  commit?: string; dirty?: boolean; configHash?: string; updatePath?: string;
  /** Dates of the `--continue` invocations that added runs. */
  continued?: string[];
  /** Axes searched: names (grids before per-axis values) or axes with their values. */
  grid?: { axes: (string | AxisSpec)[] };
}
export interface Results { info: Info; compute: unknown[]; curves: BenchRun[]; grid?: GridRun[]; soak?: unknown }

/** Folder outputs of a results object (also `--report`): table.md + curves, grid.md + best.json. */
export async function writeReport(dir: string, r: Results, rStarOverride?: string[]): Promise<string> {
  const i = r.info;
  // Results of benches before labels were stored: the labels of today's methods on their base file.
  const labels = i.labels ?? Object.fromEntries(Object.entries(METHODS).map(([m, d]) => [m, d.label(existsSync(i.config) ? paramsOf(i.config) : {})]));
  const kindOf = (m: string) => i.kinds?.[m] ?? METHODS[m]?.kind ?? 'naf';
  const md: string[] = [];
  if (r.curves.length) {
    const every = i.evalEvery ?? (r.curves[0].points[1]?.episode ?? 0) - r.curves[0].points[0].episode;
    const text = [`# naf_ros benchmark (${i.date}, ${i.cores} cores, backend ${i.backend}${i.quick ? ', quick' : ''})`, '',
      ...(i.commit ? [`Commit ${i.commit.slice(0, 7)}${i.dirty ? ' with uncommitted changes' : ''}, base parameters sha256 ${i.configHash}, node ${i.node}, tfjs ${i.tfjs}, ${i.cpu ?? 'cpu unknown'}; NAF update: ${i.updatePath}${i.continued?.length ? `; continued ${i.continued.join(', ')}` : ''}.`, ''] : []),
      `${i.episodes} training episodes per run, ${i.seeds} seeds per method${(i.firstSeed ?? 1) !== 1 ? ` (from seed ${i.firstSeed})` : ''}, base \`${i.config}\`${i.set?.length ? `, ${i.set.map((s) => `\`--set ${s}\``).join(' ')}` : ''}${i.tuned ? `, settings of \`${i.tuned}\`` : ''}; test return evaluated every ${every} episodes.`, '',
      tables(r.curves, { labels, rStarMethods: rStarOverride ?? i.rStarMethods ?? undefined }), ''].join('\n');
    writeFileSync(join(dir, 'table.md'), text);
    md.push(text);
    for (const task of [...new Set(r.curves.map((c) => c.task))]) {
      writeFileSync(join(dir, `curves-${task}.svg`), await learningCurveSvg(r.curves.filter((c) => c.task === task), TASKS[task]?.label ?? task, labels));
    }
  }
  if (r.grid?.length) {
    const text = [`# naf_ros tuning grid (${i.date}, ${i.cores} cores, backend ${i.backend})`, '',
      `Task ${r.grid[0].task}; axes ${(i.grid?.axes ?? []).map((a) => (typeof a === 'string' ? a : `${a.axis} ∈ {${a.values.join(', ')}}`)).join(', ')}; ${i.episodes} episodes per run, ${i.seeds} seeds per setting${(i.firstSeed ?? 1) !== 1 ? ` (seeds ${i.firstSeed}..${i.firstSeed! + i.seeds - 1})` : ''}, base \`${i.config}\`${i.set?.length ? `, ${i.set.map((s) => `\`--set ${s}\``).join(' ')}` : ''}.`, '',
      gridTable(r.grid, labels, kindOf), ''].join('\n');
    writeFileSync(join(dir, 'grid.md'), text);
    const best = bestSettings(r.grid, kindOf);
    writeFileSync(join(dir, 'best.json'), JSON.stringify({
      task: r.grid[0].task, axes: i.grid?.axes, criterion: 'highest mean over seeds of the mean test return over the evaluations after episode 0',
      methods: Object.fromEntries(Object.entries(best).map(([m, b]) => [m, { ...b, name: settingName(b.setting) }])),
    }, null, 1) + '\n');
    md.push(text);
  }
  return md.join('\n');
}

/** The parameters of a params file, relative paths resolved against its folder (as `naf-ros train --config`). */
export function paramsOf(file: string): Params {
  return resolveFileRelative((yaml.load(readFileSync(file, 'utf8')) as { naf_trainer: { ros__parameters: Params } }).naf_trainer.ros__parameters, paramsFileDir(file)) as Params;
}
