/**
 * Statistics of the bench tables over seeds: the area under a learning curve, episodes to a
 * sweep of return levels, and percentile-bootstrap 95 % intervals (of a mean over seeds, and of a
 * difference of means between two methods), with a fixed resampling seed so that a table rebuilt
 * from the same results is the same table.
 */
import { Rng } from '../src/util/rng.js';
import type { Curve } from '../src/report/plot.js';

/** Resamples per interval. */
export const BOOTSTRAP_RESAMPLES = 10000;

export const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * Area under the greedy learning curve, as a mean return: the trapezoid integral of R(e) over the
 * evaluated episodes from the first to the last, divided by that span (so it reads in return
 * units: the average test return over training; higher is better and rewards learning early).
 * @throws Error for a curve with fewer than 2 points
 */
export function curveArea(c: Curve, until?: number): number {
  const p = c.points.filter((q) => until === undefined || q.episode <= until);
  if (p.length < 2) throw new Error(`curveArea: ${c.method} seed ${c.seed} has ${p.length} evaluation(s); 2 needed`);
  let a = 0;
  for (let i = 1; i < p.length; i++) a += ((p[i].meanReturn + p[i - 1].meanReturn) / 2) * (p[i].episode - p[i - 1].episode);
  return a / (p[p.length - 1].episode - p[0].episode);
}

/** First evaluated episode with R(e) >= level, or null when never (censored at the budget). */
export function episodesToLevel(c: Curve, level: number): number | null {
  return c.points.find((q) => q.meanReturn >= level)?.episode ?? null;
}

/**
 * Percentile-bootstrap 95 % interval of `stat` over `values` resampled with replacement
 * (BOOTSTRAP_RESAMPLES times, from the stream `seed`). [lo, hi] are the 2.5 and 97.5 percentiles.
 */
export function bootstrapCi(values: number[], stat: (v: number[]) => number = mean, seed = 'bootstrap'): [number, number] {
  const rng = new Rng(seed);
  const n = values.length;
  const out = new Float64Array(BOOTSTRAP_RESAMPLES);
  const buf = new Array<number>(n);
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
    for (let i = 0; i < n; i++) buf[i] = values[Math.floor(rng.uniform() * n)];
    out[b] = stat(buf);
  }
  out.sort();
  return [out[Math.floor(0.025 * (BOOTSTRAP_RESAMPLES - 1))], out[Math.ceil(0.975 * (BOOTSTRAP_RESAMPLES - 1))]];
}

/**
 * Bootstrap 95 % interval of mean(a) − mean(b) for two independent groups of seeds (each group
 * resampled on its own; the methods' runs are separate runs, not paired draws).
 */
export function bootstrapDiffCi(a: number[], b: number[], seed = 'bootstrap-diff'): [number, number] {
  const rng = new Rng(seed);
  const out = new Float64Array(BOOTSTRAP_RESAMPLES);
  const draw = (v: number[]) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[Math.floor(rng.uniform() * v.length)]; return s / v.length; };
  for (let k = 0; k < BOOTSTRAP_RESAMPLES; k++) out[k] = draw(a) - draw(b);
  out.sort();
  return [out[Math.floor(0.025 * (BOOTSTRAP_RESAMPLES - 1))], out[Math.ceil(0.975 * (BOOTSTRAP_RESAMPLES - 1))]];
}

/** "m [lo, hi]" with d decimals. */
export function withCi(values: number[], d = 2, seed?: string): string {
  if (!values.length) return '–';
  const [lo, hi] = bootstrapCi(values, mean, seed);
  return `${mean(values).toFixed(d)} [${lo.toFixed(d)}, ${hi.toFixed(d)}]`;
}
