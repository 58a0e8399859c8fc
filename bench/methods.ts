/**
 * The methods and tasks the benchmark compares (paper Table 1 and Fig. 2), as overrides of the
 * base params file (config/reacher.yaml by default). Every method shares the test-return protocol
 * of `src/training/trainer.ts`: greedy policy, the same fixed evaluation starts, same horizon,
 * evaluated every `eval_every_episodes` episodes, and the held-out test at the end; every method
 * keeps the base's network sizes.
 *
 * Update budgets. NAF + imagination makes, per real step, I updates from R
 * and I·l from R_f (Algorithm 2 line 153): I·(l + 1). "NAF (matched updates)" is NAF alone with
 * I·(l + 1) updates from R per real step, so a gain of imagination over it is not "more gradient
 * steps". (NAF + imagination makes only I updates per step before its first refit and after the
 * switch-off, so the matched control makes slightly more updates in all; the bench table reports
 * the measured updates per real step of every run.) "DDPG (matched updates)" is the same for DDPG.
 * The factorial's cells (`FACTORIAL_METHODS`) separate imagination from the iLQG episodes.
 */
type Params = Record<string, unknown>;

/** I and l of a (merged) params object, with the schema defaults (5, 10) where unset. */
export function updateBudget(base: Params): { I: number; l: number } {
  const agent = (base.agent ?? {}) as { updates_per_step?: number };
  const mb = (base.model_based ?? {}) as { imagination_length?: number };
  return { I: agent.updates_per_step ?? 5, l: mb.imagination_length ?? 10 };
}

/**
 * Gradient updates per real step of a (merged) params object: I without imagination, I·(l + 1)
 * with it (once the model exists).
 */
export function updatesPerRealStep(p: Params): number {
  const { I, l } = updateBudget(p);
  return ((p.model_based ?? {}) as { enabled?: boolean }).enabled === false ? I : I * (l + 1);
}

export interface Method {
  /** Label in tables and plots, from the base (shows I). */
  label: (base: Params) => string;
  /** Overrides of the base (which may depend on it: the matched budget). */
  overrides: (base: Params) => Params;
  kind: 'naf' | 'ddpg';
}

const modelFree = { model_based: { enabled: false, on_policy_fraction: 1 } };
const matched = (base: Params) => { const { I, l } = updateBudget(base); return I * (l + 1); };
/** p of the base (schema default 0.5). */
const onPolicy = (base: Params) => ((base.model_based ?? {}) as { on_policy_fraction?: number }).on_policy_fraction ?? 0.5;

export const METHODS: Record<string, Method> = {
  // DDPG's update runs on one thread (the two-thread update is NAF's, agent.learner_threads).
  ddpg: { kind: 'ddpg', label: (b) => `DDPG (I = ${updateBudget(b).I})`, overrides: () => ({ agent: { kind: 'ddpg', learner_threads: 1 }, ...modelFree }) },
  ddpg_matched: { kind: 'ddpg', label: (b) => `DDPG (matched: I = ${matched(b)})`, overrides: (b) => ({ agent: { kind: 'ddpg', learner_threads: 1, updates_per_step: matched(b) }, ...modelFree }) },
  naf: { kind: 'naf', label: (b) => `NAF (I = ${updateBudget(b).I})`, overrides: () => ({ agent: { kind: 'naf' }, ...modelFree }) },
  naf_matched: { kind: 'naf', label: (b) => `NAF (matched: I = ${matched(b)})`, overrides: (b) => ({ agent: { kind: 'naf', updates_per_step: matched(b) }, ...modelFree }) },
  naf_tvlg: { kind: 'naf', label: () => 'NAF + ImR (tvlg)', overrides: () => ({ agent: { kind: 'naf' }, model_based: { enabled: true, dynamics: 'tvlg' } }) },
  // The factorial's two other cells (imagination x iLQG mixing): imagination with every real
  // episode on-policy (p = 1); iLQG episodes (the base's p) without imagination, at the matched budget.
  naf_tvlg_p1: { kind: 'naf', label: () => 'NAF + ImR (tvlg), p = 1', overrides: () => ({ agent: { kind: 'naf' }, model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 1 } }) },
  naf_ilqg_matched: {
    kind: 'naf',
    label: (b) => `NAF + iLQG episodes (p = ${onPolicy(b)}), no ImR (matched: I = ${matched(b)})`,
    overrides: (b) => ({ agent: { kind: 'naf', updates_per_step: matched(b) }, model_based: { enabled: false, on_policy_fraction: onPolicy(b) } }),
  },
  naf_nn: { kind: 'naf', label: () => 'NAF + ImR (nn)', overrides: () => ({ agent: { kind: 'naf' }, model_based: { enabled: true, dynamics: 'nn' } }) },
  naf_true: { kind: 'naf', label: () => 'NAF + ImR (true)', overrides: () => ({ agent: { kind: 'naf' }, model_based: { enabled: true, dynamics: 'true' } }) },
};

/** The evidence run's methods; naf_nn and ddpg_matched on request. */
export const DEFAULT_METHODS = ['ddpg', 'naf', 'naf_matched', 'naf_tvlg', 'naf_true'];
/**
 * The factorial at matched updates (DESIGN.md Sec. 7): {imagination on, off} x {p = the base's
 * (iLQG episodes), p = 1}, every cell at I·(l + 1) updates per real step, plus NAF and DDPG at I.
 * `--methods factorial` runs these.
 */
export const FACTORIAL_METHODS = ['naf_tvlg', 'naf_tvlg_p1', 'naf_ilqg_matched', 'naf_matched', 'naf', 'ddpg'];
/** `--quick`: a few minutes. */
export const QUICK_METHODS = ['ddpg', 'naf', 'naf_tvlg'];

export const TASKS: Record<string, { label: string; overrides: Params }> = {
  single: { label: 'reacher, single target', overrides: { task: { target_mode: 'fixed' } } },
  random: { label: 'reacher, random targets', overrides: { task: { target_mode: 'random' } } },
};

export { merge, parseSet } from '../src/config/overrides.js';
