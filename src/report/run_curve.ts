/**
 * `learning_curve.svg` of a run: what `summary.md` says, drawn over training episodes in three
 * panels (vega-lite, `renderSvg`):
 *  1. return: every training episode (dots: NAF with noise, or iLQG), the periodic evaluation of the
 *     greedy policy (line, "evaluation (<n> starts)": mean over its fixed starts), and the held-out
 *     test of the final and the best policy (`test.json`, large marks at their episodes);
 *  2. success: the fraction of evaluation / test episodes ending within the success distance;
 *  3. final fingertip distance, cm on a log axis from 0.1 to 100 cm: training episodes, the
 *     evaluation median, the test medians, the success distance (dashed). Values outside the axis
 *     are drawn at its edge, with a triangle just beyond it pointing out (series "clipped at the
 *     axis").
 * The bottom axis labels each tick with the episode and, below it, the wall-clock training time
 * at that episode (all sessions, from `metrics.jsonl` / `eval.jsonl`).
 */
import type * as vl from 'vega-lite';
import { renderSvg, SCHEMA } from './plot.js';
import type { EpisodeRecord, EvalRecord, TestReport } from './run_folder.js';

/** Limits of the distance axis, cm. */
const CM_MIN = 0.1;
const CM_MAX = 100;

/** "0 s", "42 s", "3.5 min", "12 min", "1.4 h": a wall-clock duration in one short label. */
export function shortDuration(s: number): string {
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** About `n` round tick values from 0 to `max` (steps 1, 2, 2.5, 5 × 10^k). */
export function niceTicks(max: number, n = 6): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw && Number.isInteger(s)) ?? Math.ceil(raw);
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Math.round(v));
  return out;
}

/**
 * Wall-clock seconds at episode `e`: linear between the recorded (episode, wallSeconds) points,
 * NaN outside them.
 */
function wallAt(points: { episode: number; wallSeconds: number }[], e: number): number {
  const lo = points.filter((p) => p.episode <= e).at(-1);
  const hi = points.find((p) => p.episode >= e);
  if (!lo || !hi) return NaN;
  if (hi.episode === lo.episode) return lo.wallSeconds;
  return lo.wallSeconds + ((hi.wallSeconds - lo.wallSeconds) * (e - lo.episode)) / (hi.episode - lo.episode);
}

/** cm clamped to the axis, and whether it was. */
const onAxis = (cm: number) => ({ cm: Math.min(CM_MAX, Math.max(CM_MIN, cm)), clipped: cm < CM_MIN || cm > CM_MAX });

/**
 * The SVG text of a run's learning curve.
 * @param successDistance m
 * @param test the run's held-out test (null: not run yet, nothing marked)
 * @param opts.policyEpisodes legend of the episodes of the NAF policy (default "training (NAF + noise)")
 */
export async function runCurveSvg(title: string, episodes: EpisodeRecord[], evals: EvalRecord[], successDistance: number, test: TestReport | null = null,
  opts: { policyEpisodes?: string } = {}): Promise<string> {
  const nEval = evals[0]?.finalDistances.length ?? 0;
  const S = {
    noise: opts.policyEpisodes ?? 'training (NAF + noise)', ilqg: 'training (iLQG)', evaluation: `evaluation (${nEval} starts)`,
    final: `held-out test, final policy (episode ${test?.final.episode}, ${test?.episodes} starts)`,
    best: `held-out test, best policy (episode ${test?.best?.episode}, ${test?.episodes} starts)`,
    clipped: `clipped at the axis (< ${CM_MIN} or > ${CM_MAX} cm)`,
  };
  const train = episodes.filter((e) => Number.isFinite(e.return)).map((e) => ({
    episode: e.episode, value: e.return, ...onAxis(e.finalDistance * 100), series: e.controller === 'ilqg' ? S.ilqg : S.noise,
  }));
  const evaluation = evals.map((e) => ({
    episode: e.episode, value: e.meanReturn, ...onAxis(e.medianDistance * 100), series: S.evaluation,
    rate: e.finalDistances.length ? e.successes / e.finalDistances.length : 0,
  }));
  // best first, final on top: a large square and a smaller diamond stay visible on the same spot
  const tests = test ? [
    ...(test.best ? [{ t: test.best, series: S.best, shape: 'square', size: 220 }] : []),
    { t: test.final, series: S.final, shape: 'diamond', size: 110 },
  ].map(({ t, series, shape, size }) => ({
    episode: t.episode, value: t.meanReturn, ...onAxis(t.medianDistance * 100), series, shape, size,
    rate: t.finalDistances.length ? t.successes / t.finalDistances.length : 0,
  })) : [];
  const clipped = [...train, ...evaluation, ...tests].filter((d) => d.clipped).map((d) => ({ episode: d.episode, cm: d.cm, series: S.clipped, low: d.cm <= CM_MIN }));

  // The bottom axis: episode, and the wall-clock time at it below (vega draws an array label as lines).
  const wallPoints = [...evals, ...episodes].map((r) => ({ episode: r.episode, wallSeconds: r.wallSeconds })).filter((p) => Number.isFinite(p.wallSeconds)).sort((a, b) => a.episode - b.episode);
  const lastEpisode = Math.max(0, ...wallPoints.map((p) => p.episode), ...tests.map((t) => t.episode));
  const ticks = niceTicks(lastEpisode);
  const label = ticks.map((v) => `datum.value === ${v} ? ['${v}', '${shortDuration(wallAt(wallPoints, v))}']`).join(' : ') + ' : datum.label';
  const xBase = { field: 'episode', type: 'quantitative' as const, scale: { domainMin: 0, padding: 8 } };
  const x = { ...xBase, title: 'training episodes', axis: { values: ticks } };
  const xBottom = { ...xBase, title: 'training episodes (below each: wall-clock training time, all sessions)', axis: { values: ticks, labelExpr: label, labelLineHeight: 13, offset: 12 } };

  // the legend lists the series drawn
  const present = new Set([...train, ...evaluation, ...tests, ...clipped].map((d) => d.series));
  const palette: [string, string][] = [[S.noise, '#9ecae9'], [S.ilqg, '#fdae6b'], [S.evaluation, '#1f77b4'], [S.best, '#2ca02c'], [S.final, '#9467bd'], [S.clipped, '#d62728']];
  const shown = palette.filter(([series]) => present.has(series));
  const color = {
    field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 0, orient: 'right' as const },
    scale: { domain: shown.map(([series]) => series), range: shown.map(([, c]) => c) },
  };
  const testMarks = (field: string, xx: object) => ({
    data: { values: tests }, mark: { type: 'point' as const, filled: true, opacity: 1, stroke: 'white', strokeWidth: 1 },
    encoding: {
      x: xx, y: { field, type: 'quantitative' as const }, color,
      shape: { field: 'shape', type: 'nominal' as const, scale: null, legend: null }, size: { field: 'size', type: 'quantitative' as const, scale: null, legend: null },
    },
  });
  const returnPanel = {
    width: 560, height: 170,
    layer: [
      { data: { values: train }, mark: { type: 'point' as const, filled: true, size: 14, opacity: 0.6 }, encoding: { x, y: { field: 'value', type: 'quantitative' as const, title: 'return (sum of rewards)' }, color } },
      { data: { values: evaluation }, mark: { type: 'line' as const, point: true }, encoding: { x, y: { field: 'value', type: 'quantitative' as const }, color } },
      testMarks('value', x),
    ],
  };
  const successPanel = {
    width: 560, height: 110,
    layer: [
      { data: { values: evaluation }, mark: { type: 'line' as const, point: true }, encoding: { x, y: { field: 'rate', type: 'quantitative' as const, title: `success (< ${successDistance * 100} cm)`, axis: { format: '%' }, scale: { domain: [0, 1] } }, color } },
      testMarks('rate', x),
    ],
  };
  const cmAxis = { field: 'cm', type: 'quantitative' as const, title: `final distance, cm (dashed: ${successDistance * 100})`, scale: { type: 'log' as const, domain: [CM_MIN, CM_MAX] }, axis: { values: [0.1, 0.3, 1, 2, 3, 10, 30, 100] } };
  const distancePanel = {
    width: 560, height: 170,
    layer: [
      { data: { values: train }, mark: { type: 'point' as const, filled: true, size: 14, opacity: 0.6 }, encoding: { x: xBottom, y: cmAxis, color } },
      { data: { values: evaluation }, mark: { type: 'line' as const, point: true }, encoding: { x: xBottom, y: { field: 'cm', type: 'quantitative' as const }, color } },
      testMarks('cm', xBottom),
      // clipped values: a triangle just outside the axis edge, pointing out of it
      ...[true, false].map((low) => ({
        data: { values: clipped.filter((d) => d.low === low) },
        mark: { type: 'point' as const, filled: true, size: 50, shape: low ? 'triangle-down' : 'triangle-up', yOffset: low ? 7 : -7, clip: false },
        encoding: { x: xBottom, y: { field: 'cm', type: 'quantitative' as const }, color },
      })),
      { data: { values: [{ cm: successDistance * 100 }] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#2ca02c' }, encoding: { y: { field: 'cm', type: 'quantitative' as const } } },
    ],
  };
  return renderSvg({ $schema: SCHEMA, title, vconcat: [returnPanel, successPanel, distancePanel] } as vl.TopLevelSpec);
}
