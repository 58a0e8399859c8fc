/**
 * Every plot of naf_ros: vega-lite specs rendered to SVG by vega in Node (no native canvas).
 * Used by the bench (learning curves over methods and seeds, soak) and by the run folder
 * (`learning_curve.svg` of one run: `run_curve.ts`).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/**
 * One learning curve of the bench: the greedy test return per evaluation of one method, task and
 * seed; `successes` of `episodes` evaluation episodes ended within the success distance (absent in
 * results of older benches).
 */
export interface Curve { method: string; task: string; seed: number; points: { episode: number; meanReturn: number; successes?: number; episodes?: number }[] }

/**
 * SVG of the bench's learning curves, one colour per method, mean over seeds as a line and the
 * min–max over seeds as a band: test return against training episodes, and (when the curves carry
 * success counts) the evaluation success rate below it.
 */
export async function learningCurveSvg(curves: Curve[], title: string, labels: Record<string, string>): Promise<string> {
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const values: { method: string; episode: number; mean: number; lo: number; hi: number; rate?: number; rateLo?: number; rateHi?: number }[] = [];
  const withRates = curves.length > 0 && curves.every((c) => c.points.every((p) => p.successes !== undefined && p.episodes));
  for (const method of [...new Set(curves.map((c) => c.method))]) {
    const runs = curves.filter((c) => c.method === method);
    const episodes = [...new Set(runs.flatMap((r) => r.points.map((p) => p.episode)))].sort((a, b) => a - b);
    for (const e of episodes) {
      const pts = runs.map((r) => r.points.find((p) => p.episode === e)).filter((p) => p !== undefined);
      const v = pts.map((p) => p.meanReturn);
      const rates = withRates ? pts.map((p) => p.successes! / p.episodes!) : [];
      if (v.length) values.push({
        method: labels[method] ?? method, episode: e, mean: mean(v), lo: Math.min(...v), hi: Math.max(...v),
        ...(withRates ? { rate: mean(rates), rateLo: Math.min(...rates), rateHi: Math.max(...rates) } : {}),
      });
    }
  }
  const x = { field: 'episode', type: 'quantitative' as const, title: 'training episodes' };
  const color = { field: 'method', type: 'nominal' as const, title: `method (line: mean over seeds; band: min–max)`, legend: { labelLimit: 500, titleLimit: 500 } };
  const panel = (y: string, lo: string, hi: string, ytitle: string, domain?: number[]) => ({
    width: 520, height: withRates ? 240 : 320,
    encoding: { x, color },
    layer: [
      { mark: { type: 'area' as const, opacity: 0.18 }, encoding: { y: { field: lo, type: 'quantitative' as const, title: ytitle, ...(domain ? { scale: { domain } } : {}) }, y2: { field: hi } } },
      { mark: { type: 'line' as const, point: true }, encoding: { y: { field: y, type: 'quantitative' as const } } },
    ],
  });
  const ret = panel('mean', 'lo', 'hi', 'test return (greedy, mean of eval episodes)');
  return renderSvg(withRates
    ? { $schema: SCHEMA, title, data: { values }, vconcat: [ret, panel('rate', 'rateLo', 'rateHi', 'evaluation episodes within 2 cm (fraction)', [0, 1])] }
    : { $schema: SCHEMA, title, data: { values }, ...ret });
}

/** SVG of the soak samples: tfjs tensor count, heap and RSS (MB) against environment steps. */
export async function soakSvg(samples: { step: number; tensors: number; heapMB: number; rssMB: number }[]): Promise<string> {
  const values = samples.flatMap((s) => [
    { step: s.step, series: 'tfjs tensors', value: s.tensors },
    { step: s.step, series: 'heap (MB)', value: s.heapMB },
    { step: s.step, series: 'RSS (MB)', value: s.rssMB },
  ]);
  return renderSvg({
    $schema: SCHEMA, title: 'soak: memory over a long training run', width: 520, height: 300, data: { values },
    mark: 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'environment steps' },
      y: { field: 'value', type: 'quantitative', title: 'count / MB' },
      color: { field: 'series', type: 'nominal' },
    },
  });
}

/**
 * The fleet bench (`bench/fleet.ts`): test return against wall-clock seconds and against real episodes
 * (all arms), one line per arm count, the common return R* dashed.
 */
export async function fleetCurvesSvg(runs: { arms: number; points: { wallS: number; episodes: number; meanReturn: number }[] }[], rStar: number): Promise<string> {
  const values = runs.flatMap((r) => r.points.map((q) => ({ arms: `${r.arms} arm${r.arms === 1 ? '' : 's'}`, wallS: q.wallS, episodes: q.episodes, ret: q.meanReturn })));
  const color = { field: 'arms', type: 'nominal' as const, title: 'fleet' };
  const y = { field: 'ret', type: 'quantitative' as const, title: 'test return (greedy, mean of eval starts)' };
  const panel = (x: string, title: string) => ({
    width: 380, height: 280,
    layer: [
      { data: { values }, mark: { type: 'line' as const, point: true }, encoding: { x: { field: x, type: 'quantitative' as const, title }, y, color } },
      { data: { values: [{ r: rStar }] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'r', type: 'quantitative' as const } } },
    ],
  });
  return renderSvg({
    $schema: SCHEMA, title: `fleets of simulated arms, one learner (dashed: R* = ${rStar.toFixed(2)})`,
    hconcat: [panel('wallS', 'wall-clock seconds'), panel('episodes', 'real episodes (all arms)')],
  } as vl.TopLevelSpec);
}
