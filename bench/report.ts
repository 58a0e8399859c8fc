/**
 * Learning-curve summaries, the Table-1-style table and the SVG plots (vega-lite rendered to SVG
 * by vega in Node: no native canvas).
 *
 * "Episodes to within 5% of best" (paper Table 1) is ambiguous for negative returns; here it is
 * the first evaluation at which the test return is within 5% of the run's improvement range:
 *   R(e) >= R_best - 0.05 * (R_best - R_0),   R_0 = the untrained policy's test return.
 * It is relative to each run's own best, so a method that converges to a worse return can look
 * fast. The table therefore also gives the episodes to reach a common return R*: the lowest
 * best test return of all runs of the task (so every run reaches it).
 */
import type { Curve } from '../src/report/plot.js';

// The plots live with every other plot of the project (src/report/plot.ts).
export { learningCurveSvg, soakSvg, type Curve } from '../src/report/plot.js';

export interface RunSummary { best: number; episodesToWithin5: number; final: number }

export function summarise(c: Curve): RunSummary {
  const pts = c.points;
  const best = Math.max(...pts.map((p) => p.meanReturn));
  const r0 = pts[0].meanReturn;
  const threshold = best - 0.05 * (best - r0);
  const hit = pts.find((p) => p.meanReturn >= threshold)!;
  return { best, episodesToWithin5: hit.episode, final: pts[pts.length - 1].meanReturn };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));
const pm = (a: number[], d = 2) => `${mean(a).toFixed(d)} ± ${std(a).toFixed(d)}`;

/** Markdown table: per task and method, best test return and episodes to within 5%, mean ± std over seeds. */
export function table(curves: Curve[], labels: Record<string, string>): string {
  const rows = ['| task | method | seeds | best test return | episodes to within 5% of best (seed 1, 2, 3 …) | episodes to reach R* (seed 1, 2, 3 …) |', '|---|---|---|---|---|---|'];
  const keys = [...new Set(curves.map((c) => `${c.task}\u0000${c.method}`))];
  const common = new Map<string, number>();
  for (const c of curves) common.set(c.task, Math.min(common.get(c.task) ?? Infinity, summarise(c).best));
  for (const k of keys) {
    const [task, method] = k.split('\u0000');
    const runs = curves.filter((c) => c.task === task && c.method === method).sort((a, b) => a.seed - b.seed);
    const s = runs.map(summarise);
    const rStar = common.get(task)!;
    const toCommon = runs.map((c) => c.points.find((p) => p.meanReturn >= rStar)!.episode);
    rows.push(`| ${task} | ${labels[method] ?? method} | ${runs.length} | ${pm(s.map((x) => x.best))} | ${pm(s.map((x) => x.episodesToWithin5), 0)} (${s.map((x) => x.episodesToWithin5).join(', ')}) | ${pm(toCommon, 0)} (${toCommon.join(', ')}) |`);
  }
  rows.push('', `R* per task (the lowest best test return of its runs): ${[...common].map(([t, r]) => `${t} ${r.toFixed(2)}`).join(', ')}.`);
  return rows.join('\n');
}
