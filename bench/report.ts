/**
 * The bench's evidence tables, computed from `results.json` alone (`npm run bench -- --report
 * <dir>` recomputes them), with every metric defined under its table exactly as computed here.
 *
 * Test return: the greedy policy's mean return on the run's fixed evaluation starts (drawn from the
 * evaluation stream, held out from training), every `training.eval_every_episodes` episodes and at
 * episode 0. Held-out test: the final policy and the best-evaluated checkpoint of each run on
 * `training.test_episodes` starts of the test stream, at the end of the run (`test.json`).
 *
 * The paper's metric (Gu et al. 2016, Table 1: "the episodes it requires to reach within 5% of the
 * best value"), read literally: R_best = the highest test return of the run; the metric is the
 * first evaluation episode e with |R(e) − R_best| <= 0.05 |R_best| ("reach": the first time, whether
 * or not it stays there). It is relative to each run's own best, so a run that never improves
 * scores 0; hence the second metric, episodes to reach a common return R*.
 */
import type { Curve } from '../src/report/plot.js';

// The plots live with every other plot of the project (src/report/plot.ts).
export { learningCurveSvg, soakSvg, type Curve } from '../src/report/plot.js';
import { BOOTSTRAP_RESAMPLES, bootstrapDiffCi, curveArea, episodesToLevel, mean, withCi } from './stats.js';
export { mean };

/** Held-out test of one policy, as the bench keeps it (from the run's `test.json`). */
export interface PolicyResult { episode: number; meanReturn: number; successes: number; medianDistance: number }

/** One bench run: its learning curve plus what the run folder says at the end (absent in results of older benches). */
export interface BenchRun extends Curve {
  test?: {
    episodes: number; successDistance: number; final: PolicyResult; best: PolicyResult | null;
    /** The held-out test on random reachable targets (`training.test_random_targets`; absent in older results). */
    randomTargets?: { episodes: number; final: PolicyResult; best: PolicyResult | null };
  };
  totals?: { steps: number; updates: number; imagined: number; refits: number; ilqgRejected: number; wallSeconds: number };
}

/** Fraction of held-out test episodes within the success distance that counts a seed as robust (18 of 20). */
export const ROBUST_FRACTION = 0.9;

/** R_best: the highest test return among the run's evaluations (episode 0 included). */
export const bestReturn = (c: Curve) => Math.max(...c.points.map((p) => p.meanReturn));

/**
 * Episodes to within 5% of best (see module doc): the first evaluation episode e with
 * |R(e) − R_best| <= 0.05 |R_best|.
 */
export function episodesToWithin5(c: Curve): number {
  const best = bestReturn(c);
  return c.points.find((p) => Math.abs(p.meanReturn - best) <= 0.05 * Math.abs(best))!.episode;
}

/** Episodes to reach R*: the first evaluation episode with R(e) >= R*; null when no evaluation of the run reaches it. */
export function episodesToReach(c: Curve, rStar: number): number | null {
  return c.points.find((p) => p.meanReturn >= rStar)?.episode ?? null;
}

/** The mean-over-seeds learning curve of some runs: mean test return at each evaluation episode every run has. */
export function meanCurve(runs: Curve[]): { episode: number; meanReturn: number }[] {
  const episodes = runs[0].points.map((p) => p.episode).filter((e) => runs.every((r) => r.points.some((p) => p.episode === e)));
  return episodes.map((e) => ({ episode: e, meanReturn: mean(runs.map((r) => r.points.find((p) => p.episode === e)!.meanReturn)) }));
}

/**
 * R* of a task: for each method (of `methods`, default all present), the best point of its
 * mean-over-seeds learning curve; R* is the lowest of these, i.e. the best mean return the worst
 * method reaches. Individual runs of that method may stay below it (counted as not reached).
 */
export function commonReturn(runs: Curve[], methods?: string[]): { rStar: number; from: string } {
  const ms = [...new Set(runs.map((r) => r.method))].filter((m) => !methods || methods.includes(m));
  if (!ms.length) throw new Error(`commonReturn: none of the methods ${methods?.join(', ')} has runs`);
  const best = ms.map((m) => ({ m, v: Math.max(...meanCurve(runs.filter((r) => r.method === m)).map((p) => p.meanReturn)) }));
  const worst = best.reduce((a, b) => (b.v < a.v ? b : a));
  return { rStar: worst.v, from: worst.m };
}

/** Sample standard deviation (n − 1); NaN for fewer than 2 values. */
export const sd = (a: number[]) => (a.length < 2 ? NaN : Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)));
const fx = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '–');
/** "m ± s" (n − 1 standard deviation), or "m" for one value. */
export const pm = (a: number[], d = 2) => (a.length ? (a.length > 1 ? `${fx(mean(a), d)} ± ${fx(sd(a), d)}` : fx(a[0], d)) : '–');

/**
 * Episodes over seeds where some may be censored (null = not reached within the budget, counted as
 * the budget `E`): mean, and whether it is only a lower bound.
 */
export function censoredMean(v: (number | null)[], E: number): { mean: number; lowerBound: boolean; text: string } {
  const filled = v.map((x) => x ?? E);
  const lowerBound = v.some((x) => x === null);
  const seeds = v.map((x) => (x === null ? `>${E}` : String(x))).join(', ');
  return { mean: mean(filled), lowerBound, text: `${lowerBound ? '≥ ' : ''}${pm(filled, 0)} (${seeds})` };
}

/** control / method, with its bound direction when either side is censored. */
export function speedup(control: { mean: number; lowerBound: boolean }, method: { mean: number; lowerBound: boolean }): string {
  if (control.lowerBound && method.lowerBound) return '– (both censored)';
  if (!(method.mean > 0)) return '– (0 episodes)';
  const r = (control.mean / method.mean).toFixed(2) + '×';
  return control.lowerBound ? `≥ ${r}` : method.lowerBound ? `≤ ${r}` : r;
}

export interface TableOptions {
  labels: Record<string, string>;
  /** the method every other one is compared with (differences and their intervals); default naf_matched, then naf_tvlg (Algorithm 2), each when run */
  differencesAgainst?: string;
  /** methods whose mean curves define R* (default: all of the task) */
  rStarMethods?: string[];
  /** method -> the controls its episodes are compared with */
  comparisons?: Record<string, string[]>;
}

/** Imagination methods compared with both NAF controls (plain NAF, and NAF with as many updates). */
export const DEFAULT_COMPARISONS: Record<string, string[]> = {
  naf_tvlg: ['naf', 'naf_matched'],
  naf_true: ['naf', 'naf_matched'],
  naf_nn: ['naf', 'naf_matched'],
};

const held = (runs: BenchRun[], which: 'final' | 'best') => runs.map((r) => r.test?.[which] ?? null);

/** "mean over seeds (per seed); k of n seeds ≥ 18/20" for held-out successes. */
function successCell(runs: BenchRun[], which: 'final' | 'best'): string {
  const t = held(runs, which);
  if (t.some((x) => x === null)) return '–';
  const N = runs[0].test!.episodes;
  const s = t.map((x) => x!.successes);
  const robust = s.filter((v) => v >= ROBUST_FRACTION * N).length;
  return `${fx(mean(s), 1)}/${N} (${s.join(', ')}); ${robust} of ${s.length} ≥ ${Math.ceil(ROBUST_FRACTION * N)}/${N}`;
}

function returnCell(runs: BenchRun[], which: 'final' | 'best'): string {
  const t = held(runs, which);
  if (t.some((x) => x === null)) return '–';
  const v = t.map((x) => x!.meanReturn);
  return `${pm(v)} [${fx(Math.min(...v), 2)}, ${fx(Math.max(...v), 2)}]`;
}

/**
 * The evidence tables in markdown, per task: speed (both metrics), policy quality (best test
 * return; held-out final and best-checkpoint returns and success rates), and the speed-up of each
 * imagination method against the NAF controls; each followed by its definitions.
 */
export function tables(runs: BenchRun[], o: TableOptions): string {
  const out: string[] = [];
  const comparisons = o.comparisons ?? DEFAULT_COMPARISONS;
  for (const task of [...new Set(runs.map((r) => r.task))]) {
    const taskRuns = runs.filter((r) => r.task === task);
    const methods = [...new Set(taskRuns.map((r) => r.method))];
    const byMethod = (m: string) => taskRuns.filter((r) => r.method === m).sort((a, b) => a.seed - b.seed);
    const E = Math.max(...taskRuns.flatMap((r) => r.points.map((p) => p.episode)));
    const rStarMethods = o.rStarMethods?.filter((m) => methods.includes(m));
    const { rStar, from } = commonReturn(taskRuns, rStarMethods?.length ? rStarMethods : undefined);
    const label = (m: string) => o.labels[m] ?? m;
    const speed = new Map<string, { w5: ReturnType<typeof censoredMean>; reach: ReturnType<typeof censoredMean> }>();
    out.push(`### Task: ${task}`, '', '**Speed** (real episodes)', '',
      '| method | seeds | updates per real step | episodes to within 5% of best | episodes to reach R* |', '|---|---|---|---|---|');
    for (const m of methods) {
      const rs = byMethod(m);
      const w5 = censoredMean(rs.map(episodesToWithin5), E);
      const reach = censoredMean(rs.map((r) => episodesToReach(r, rStar)), E);
      speed.set(m, { w5, reach });
      const ups = rs.every((r) => r.totals) ? pm(rs.map((r) => r.totals!.updates / r.totals!.steps), 2) : '–';
      out.push(`| ${label(m)} | ${rs.length} | ${ups} | ${w5.text} | ${reach.text} |`);
    }
    out.push('',
      `R* = ${rStar.toFixed(3)}: the best point of ${label(from)}'s mean-over-seeds test-return curve, the lowest such best among ${rStarMethods?.length ? rStarMethods.map(label).join(', ') : 'all methods of this table'}.`,
      '',
      '* *Test return R(e)*: mean return of the greedy policy mu(x) on the run\'s fixed evaluation starts (evaluation stream, disjoint from training\'s) after e training episodes; evaluated at e = 0 and every `training.eval_every_episodes` episodes.',
      '* *Episodes to within 5% of best*: R_best = max_e R(e) of the run; the first evaluated e with |R(e) − R_best| ≤ 0.05·|R_best| (the first time it gets there, whether or not it stays: the paper\'s Table 1 "episodes it requires to reach within 5% of the best value"). Relative to each run\'s own best: a run that never improves scores 0.',
      `* *Episodes to reach R\\**: the first evaluated e with R(e) ≥ R*; \`>${E}\` = not reached within the budget, counted as ${E} in the mean, which is then a lower bound (≥).`,
      '* Cells: mean ± standard deviation over seeds (n − 1), then the per-seed values in seed order. *Updates per real step*: gradient updates of the whole run (from R and R_f) / real environment steps (warm-up steps included).',
      '');
    out.push('**Policy quality**', '',
      '| method | best test return | held-out test, final policy: return | within 2 cm | held-out test, best checkpoint: return | within 2 cm |', '|---|---|---|---|---|---|');
    for (const m of methods) {
      const rs = byMethod(m);
      out.push(`| ${label(m)} | ${pm(rs.map(bestReturn))} | ${returnCell(rs, 'final')} | ${successCell(rs, 'final')} | ${returnCell(rs, 'best')} | ${successCell(rs, 'best')} |`);
    }
    const t0 = taskRuns.find((r) => r.test)?.test;
    out.push('',
      '* *Best test return*: max_e R(e) of each run (the maximum over its evaluations, so biased upwards by evaluation noise), mean ± sd over seeds.',
      `* *Held-out test*: each run's final policy and its best-evaluated checkpoint (\`checkpoints/best\`, the highest R(e)) on ${t0 ? t0.episodes : '`training.test_episodes`'} starts of the test stream (disjoint from training's and from the evaluation starts that chose the best), greedy; return: mean ± sd over seeds [min, max]; *within 2 cm*: test episodes whose final fingertip distance is below ${t0 ? t0.successDistance * 100 : 2} cm, mean over seeds (per seed), and the number of seeds with at least ${ROBUST_FRACTION * 100}% of the test episodes within 2 cm.`,
      '');
    out.push(...intervalTables(taskRuns, methods.map((m) => byMethod(m)), label, E, o.differencesAgainst));
    const rows: string[] = [];
    for (const [m, controls] of Object.entries(comparisons)) {
      if (!speed.has(m)) continue;
      for (const c of controls) {
        if (!speed.has(c)) continue;
        const a = speed.get(c)!, b = speed.get(m)!;
        rows.push(`| ${label(m)} vs ${label(c)} | ${speedup(a.w5, b.w5)} | ${speedup(a.reach, b.reach)} |`);
      }
    }
    if (rows.length) {
      out.push('**Speed-up of imagination** (episodes of the control / episodes of the method; > 1: fewer real episodes with imagination)', '',
        '| comparison | episodes to within 5% of best | episodes to reach R* |', '|---|---|---|', ...rows, '',
        '* Ratio of the means over seeds of the speed table. ≥: the control\'s mean is a lower bound (some of its runs never reached R*); ≤: the method\'s is.', '');
    }
  }
  return out.join('\n');
}

/** Fractions of the way from the initial to the top return that the level sweep uses. */
export const LEVEL_FRACTIONS = [0.5, 0.75, 0.9, 0.95] as const;

/**
 * The tables with intervals (one task): per method the area under the greedy curve, episodes to
 * each level of a return sweep, the held-out success and median final distance — mean over seeds
 * with a bootstrap 95 % interval — and every method's differences from a control with their intervals.
 */
export function intervalTables(taskRuns: BenchRun[], groups: BenchRun[][], label: (m: string) => string, E: number, against?: string): string[] {
  const out: string[] = [];
  const r0 = mean(taskRuns.map((r) => r.points[0].meanReturn));
  const top = Math.max(...groups.map((g) => Math.max(...meanCurve(g).map((p) => p.meanReturn))));
  const levels = LEVEL_FRACTIONS.map((f) => r0 + f * (top - r0));
  const rt = taskRuns.every((r) => r.test?.randomTargets);
  out.push('**Over seeds, with bootstrap 95 % intervals**', '',
    `| method | seeds | area under the test-return curve | ${levels.map((l, i) => `episodes to ${l.toFixed(2)} (${LEVEL_FRACTIONS[i] * 100}%)`).join(' | ')} | held-out final: within 2 cm | median final distance, cm |${rt ? ' random targets: within 2 cm | random targets: median final distance, cm |' : ''}`,
    `|---|---|---|${levels.map(() => '---').join('|')}|---|---|${rt ? '---|---|' : ''}`);
  for (const g of groups) {
    const m = g[0].method;
    const reach = levels.map((l) => {
      const v = g.map((r) => episodesToLevel(r, l));
      const filled = v.map((x) => x ?? E);
      const censored = v.filter((x) => x === null).length;
      return `${censored ? '≥ ' : ''}${withCi(filled, 0, `levels:${m}`)}${censored ? ` (${censored} not reached)` : ''}`;
    });
    const t = g.map((r) => r.test?.final ?? null);
    const ok = t.every((x) => x !== null);
    const succ = ok ? withCi(t.map((x) => x!.successes), 1, `succ:${m}`) + `/${g[0].test!.episodes}` : '–';
    const dist = ok ? withCi(t.map((x) => 100 * x!.medianDistance), 2, `dist:${m}`) : '–';
    const rtCells = rt ? ` ${withCi(g.map((r) => r.test!.randomTargets!.final.successes), 1, `rtsucc:${m}`)}/${g[0].test!.randomTargets!.episodes} | ${withCi(g.map((r) => 100 * r.test!.randomTargets!.final.medianDistance), 2, `rtdist:${m}`)} |` : '';
    out.push(`| ${label(m)} | ${g.length} | ${withCi(g.map((r) => curveArea(r)), 3, `area:${m}`)} | ${reach.join(' | ')} | ${succ} | ${dist} |${rtCells}`);
  }
  out.push('',
    `* *Area under the test-return curve*: the trapezoid integral of R(e) from e = 0 to the last evaluation, divided by that span — the average test return over training (higher: better, and earlier). *Levels*: R0 + f (R_top − R0) with R0 = ${r0.toFixed(3)} (mean R(0) of all runs) and R_top = ${top.toFixed(3)} (the best point of the best method's mean-over-seeds curve), f = ${LEVEL_FRACTIONS.join(', ')}; episodes: the first evaluated e with R(e) ≥ the level, a run that never gets there counted as ${E} (the mean is then a lower bound, ≥). *Held-out final*: the final policy on the run's held-out starts (successes out of the test episodes; the median over them of the final fingertip distance), per seed.${rt ? ` *Random targets*: the same final policy on \`training.test_random_targets\` random reachable targets across the workspace (the tip positions of joint configurations uniform within ±\`task.random_target_spread\` of home and the soft limits, inside the workspace box; starts near home as in training; the same targets for every method and seed): successes and median final distance, per seed — on a fixed-target task, how far the policy's reach generalises beyond the one target it was trained on.` : ''}`,
    `* Each cell: mean over seeds [percentile-bootstrap 95 % interval of the mean: ${BOOTSTRAP_RESAMPLES} resamples of the seeds with replacement, fixed resampling seed].`,
    '');
  // metric, digits, and whether higher is better
  const metrics: [string, (r: BenchRun) => number | null, number, boolean][] = [
    ['area', (r) => curveArea(r), 3, true],
    ['held-out final within 2 cm', (r) => r.test?.final.successes ?? null, 1, true],
    ['median final distance, cm', (r) => (r.test ? 100 * r.test.final.medianDistance : null), 2, false],
    ...(rt ? [
      ['random targets within 2 cm', (r: BenchRun) => r.test!.randomTargets!.final.successes, 1, true],
      ['random targets: median distance, cm', (r: BenchRun) => 100 * r.test!.randomTargets!.final.medianDistance, 2, false],
    ] as [string, (r: BenchRun) => number | null, number, boolean][] : []),
  ];
  for (const control of against ? [against] : ['naf_matched', 'naf_tvlg']) {
    const base = groups.find((g) => g[0].method === control);
    if (!base) continue;
    out.push(`**Against ${label(control)}** (method − control: difference of the means over seeds, bootstrap 95 % interval; "better" / "worse" when the interval excludes 0)`, '',
      `| method | ${metrics.map((m) => m[0]).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`);
    for (const g of groups) {
      if (g === base) continue;
      const cells = metrics.map(([name, f, d, higher]) => {
        const a = g.map(f);
        const b = base.map(f);
        if (a.some((v) => v === null) || b.some((v) => v === null)) return '–';
        const [lo, hi] = bootstrapDiffCi(a as number[], b as number[], `diff:${name}:${g[0].method}`);
        const verdict = lo > 0 ? (higher ? 'better' : 'worse') : hi < 0 ? (higher ? 'worse' : 'better') : 'within noise';
        return `${(mean(a as number[]) - mean(b as number[])).toFixed(d)} [${lo.toFixed(d)}, ${hi.toFixed(d)}], ${verdict}`;
      });
      out.push(`| ${label(g[0].method)} | ${cells.join(' | ')} |`);
    }
    out.push('', '* Groups resampled independently (separate runs per method and seed); a fixed resampling seed per cell.', '');
  }
  return out;
}
