/**
 * The paper's tuning protocol applied to every method alike (Gu et al. 2016, Sec. 6.1: "We found
 * the most sensitive hyperparameters to be presence or absence of batch normalization, base
 * learning rate for ADAM ∈ {1e-4, 1e-3, 1e-2}, and exploration noise scale ∈ {0.1, 0.3, 1.0}. We
 * report the best performance for each domain."), as a small grid. Default values: learning rate
 * ∈ {1e-4, 1e-3}, exploration scale ∈ {0.1, 0.3}, batch norm off/on, target rate τ per real step
 * ∈ {0.005, 0.05}; 1e-2 and 1.0 are left out (the costliest third of each axis; on this task a
 * noise scale of 1.0 u_max saturates the torques of every joint). `--grid lr=1e-4:3e-4:1e-3,tau`
 * gives an axis its own values.
 *
 * Parameters per axis:
 *  - lr: NAF `agent.learning_rate`; DDPG the same "base" learning rate for the critic
 *    (`agent.learning_rate`) and a tenth of it for the actor (`agent.actor_learning_rate`), the
 *    ratio of the DDPG paper (1e-3 / 1e-4), which the grid's 1e-3 then reproduces;
 *  - sigma: `exploration.sigma`, the noise scale as a fraction of u_max (also the imagination
 *    rollouts' noise);
 *  - bn: `agent.batch_norm`;
 *  - tau: how far the target network moves towards the online one per *real step*, τ_step. A
 *    method making U updates per real step (I without imagination, I·(l + 1) with it, each update
 *    one soft target update) gets `agent.tau` = 1 − (1 − τ_step)^(1/U), so that its target moves
 *    as far per real step as a one-update method's at τ = τ_step. The default values are those of
 *    the shipped τ = 0.005 per update at U = 1 and at U = 11 (1 − 0.995¹¹ ≈ 0.054): every arm is
 *    tried at both speeds. (Imagination arms make only I updates per step before the first refit;
 *    their target then moves slower per step than τ_step.)
 *
 * Selection: per method, the setting with the highest *grid score*, the mean over seeds of the
 * run's mean test return over all its evaluations after episode 0 (the area under the learning
 * curve divided by its length): one number that rewards learning fast and ending high, averaged
 * over every evaluation rather than the maximum of them (which evaluation noise biases upwards).
 * The selection records the config overrides the selected runs ran with.
 */
import { bestReturn, mean, pm, type BenchRun } from './report.js';

export type Axis = 'lr' | 'sigma' | 'bn' | 'tau';
export const AXES: Record<Axis, { values: (number | boolean)[]; title: string }> = {
  lr: { values: [1e-4, 1e-3], title: 'learning rate' },
  sigma: { values: [0.1, 0.3], title: 'exploration scale (fraction of u_max)' },
  bn: { values: [false, true], title: 'batch norm' },
  tau: { values: [0.005, 0.05], title: 'target rate per real step' },
};

/** An axis searched and its values. */
export interface AxisSpec { axis: Axis; values: (number | boolean)[] }

/** One point of the grid: a value per axis that is searched (other parameters stay as configured). */
export type Setting = Partial<{ lr: number; sigma: number; bn: boolean; tau: number }>;

/**
 * "lr,sigma" or "lr=1e-4:3e-4:1e-3,tau" -> the axes in that order, each with its values (the
 * default ones where none are given); `true` (bare `--grid`) is lr, sigma, bn.
 * @throws Error naming an unknown axis or a value out of its range (lr, tau in (0, 1], sigma > 0, bn 0/1).
 */
export function parseAxes(list: string | true): AxisSpec[] {
  if (list === true) return (['lr', 'sigma', 'bn'] as Axis[]).map((axis) => ({ axis, values: AXES[axis].values }));
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const [name, given] = item.split('=');
    if (!(name in AXES)) throw new Error(`--grid: unknown axis "${name}"; allowed: ${Object.keys(AXES).join(', ')}`);
    const axis = name as Axis;
    if (given === undefined) return { axis, values: AXES[axis].values };
    const values = given.split(':').map((v) => {
      if (axis === 'bn') {
        if (v !== '0' && v !== '1') throw new Error(`--grid: bn values are 0 or 1; got "${v}"`);
        return v === '1';
      }
      const x = Number(v);
      const ok = axis === 'sigma' ? x > 0 : x > 0 && x <= 1;
      if (!ok) throw new Error(`--grid: ${axis} values must be numbers ${axis === 'sigma' ? '> 0' : 'in (0, 1]'}; got "${v}"`);
      return x;
    });
    return { axis, values };
  });
}

/** Every combination of the axes' values (the first axis slowest). */
export function settings(axes: AxisSpec[]): Setting[] {
  let out: Setting[] = [{}];
  for (const a of axes) out = out.flatMap((s) => a.values.map((v) => ({ ...s, [a.axis]: v })));
  return out;
}

/**
 * The config overrides of a setting for an agent kind making `updatesPerStep` updates per real
 * step (module doc; only the tau axis depends on it).
 */
export function settingOverrides(s: Setting, kind: 'naf' | 'ddpg', updatesPerStep = 1): Record<string, unknown> {
  const agent: Record<string, unknown> = {};
  if (s.lr !== undefined) {
    agent.learning_rate = s.lr;
    if (kind === 'ddpg') agent.actor_learning_rate = s.lr / 10;
  }
  if (s.bn !== undefined) agent.batch_norm = s.bn;
  if (s.tau !== undefined) agent.tau = tauPerUpdate(s.tau, updatesPerStep);
  return { ...(Object.keys(agent).length ? { agent } : {}), ...(s.sigma !== undefined ? { exploration: { sigma: s.sigma } } : {}) };
}

/** τ per update that moves the target as far per real step as τ_step does in one update: 1 − (1 − τ_step)^(1/U). */
export function tauPerUpdate(tauStep: number, updatesPerStep: number): number {
  return updatesPerStep === 1 ? tauStep : 1 - Math.pow(1 - tauStep, 1 / updatesPerStep);
}

/** "lr1e-4-sigma0.3-bn1-tau0.05" (folder names, table rows). */
export function settingName(s: Setting): string {
  const parts: string[] = [];
  if (s.lr !== undefined) parts.push(`lr${s.lr.toExponential()}`);
  if (s.sigma !== undefined) parts.push(`sigma${s.sigma}`);
  if (s.bn !== undefined) parts.push(`bn${s.bn ? 1 : 0}`);
  if (s.tau !== undefined) parts.push(`tau${s.tau}`);
  return parts.join('-') || 'as-configured';
}

/** Grid score of one run: mean test return over its evaluations after episode 0 (module doc). */
export function gridScore(r: BenchRun): number {
  const after = r.points.filter((p) => p.episode > 0);
  return mean((after.length ? after : r.points).map((p) => p.meanReturn));
}

/** A grid run: its setting and the config overrides it ran with (absent in grids before the tau axis: derived). */
export interface GridRun extends BenchRun { setting: Setting; overrides?: Record<string, unknown> }

/** Per method, the setting with the highest mean grid score over its seeds, with the method's config overrides. */
export function bestSettings(runs: GridRun[], kindOf: (method: string) => 'naf' | 'ddpg'): Record<string, { setting: Setting; score: number; overrides: Record<string, unknown> }> {
  const out: Record<string, { setting: Setting; score: number; overrides: Record<string, unknown> }> = {};
  for (const m of [...new Set(runs.map((r) => r.method))]) {
    for (const name of [...new Set(runs.filter((r) => r.method === m).map((r) => settingName(r.setting)))]) {
      const rs = runs.filter((r) => r.method === m && settingName(r.setting) === name);
      const score = mean(rs.map(gridScore));
      if (!out[m] || score > out[m].score) out[m] = { setting: rs[0].setting, score, overrides: rs[0].overrides ?? settingOverrides(rs[0].setting, kindOf(m)) };
    }
  }
  return out;
}

/** Markdown: per method, one row per setting (score, best and final test return, held-out final successes); the selected one in bold. */
export function gridTable(runs: GridRun[], labels: Record<string, string>, kindOf: (method: string) => 'naf' | 'ddpg'): string {
  const best = bestSettings(runs, kindOf);
  const out = ['| method | setting | seeds | grid score | best test return | final test return | held-out final within 2 cm |', '|---|---|---|---|---|---|---|'];
  for (const m of Object.keys(best)) {
    for (const name of [...new Set(runs.filter((r) => r.method === m).map((r) => settingName(r.setting)))]) {
      const rs = runs.filter((r) => r.method === m && settingName(r.setting) === name).sort((a, b) => a.seed - b.seed);
      const chosen = settingName(best[m].setting) === name;
      const b = (s: string) => (chosen ? `**${s}**` : s);
      const succ = rs.every((r) => r.test) ? rs.map((r) => `${r.test!.final.successes}/${r.test!.episodes}`).join(', ') : '–';
      out.push(`| ${labels[m] ?? m} | ${b(name)} | ${rs.length} | ${b(pm(rs.map(gridScore)))} | ${pm(rs.map(bestReturn))} | ${pm(rs.map((r) => r.points[r.points.length - 1].meanReturn))} | ${succ} |`);
    }
  }
  out.push('',
    '* *Grid score*: mean test return over the run\'s evaluations after episode 0 (area under the learning curve / its length), mean ± sd over seeds (n − 1); the setting with the highest mean is selected (**bold**) and written to `best.json`.',
    '* *Setting*: `lr` = Adam learning rate (NAF; DDPG critic, actor lr/10), `sigma` = exploration noise scale as a fraction of u_max, `bn` = batch normalisation (1 on), `tau` = target rate per real step (each arm\'s τ per update = 1 − (1 − tau)^(1/U) at its U updates per real step). *Best / final test return*: the highest / the last evaluation of each run. *Held-out final within 2 cm*: per seed, from the run\'s test.json.');
  return out.join('\n');
}
