/**
 * The methods and tasks the benchmark compares (paper Table 1 and Fig. 2), as overrides of the
 * shipped config (config/reacher.yaml). Every method shares the test-return protocol of
 * `src/training/trainer.ts`: greedy policy, the same fixed evaluation starts, same horizon,
 * evaluated every `eval_every_episodes` episodes.
 */
export const METHODS: Record<string, { label: string; overrides: Record<string, unknown> }> = {
  ddpg: { label: 'DDPG', overrides: { agent: { kind: 'ddpg' }, model_based: { enabled: false, on_policy_fraction: 1 } } },
  naf: { label: 'NAF', overrides: { model_based: { enabled: false, on_policy_fraction: 1 } } },
  naf_tvlg: { label: 'NAF + ImR (tvlg)', overrides: { model_based: { enabled: true, dynamics: 'tvlg' } } },
  naf_nn: { label: 'NAF + ImR (nn)', overrides: { model_based: { enabled: true, dynamics: 'nn' } } },
  naf_true: { label: 'NAF + ImR (true)', overrides: { model_based: { enabled: true, dynamics: 'true' } } },
};

export const TASKS: Record<string, { label: string; overrides: Record<string, unknown> }> = {
  single: { label: 'reacher, single target', overrides: { task: { target_mode: 'fixed' } } },
  random: { label: 'reacher, random targets', overrides: { task: { target_mode: 'random' } } },
};

/** Deep merge of plain objects (b wins). */
export function merge<T>(a: T, b: unknown): T {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return b as T;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out as T;
}
