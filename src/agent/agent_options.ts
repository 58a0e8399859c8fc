/**
 * Validation shared by the agents (NAF, DDPG): constructor options, query inputs and checkpoint
 * scalars. Every failure is an Error naming the agent, the field, what is allowed and what was given.
 */
import type { AgentState } from './types.js';
import type { AdamConfig } from '../nn/adam.js';

/** Constructor options both agents take (`NafOptions`, `DdpgOptions` extend it). */
export interface AgentOptions {
  /** observation size */
  dX: number;
  /** action size */
  dU: number;
  /** [dU] torque bound, N·m; mu = uMax * tanh(.) */
  uMax: Float64Array;
  /** hidden ReLU layer sizes (paper: [200, 200]) */
  hidden?: number[];
  /** batch normalisation of hidden pre-activations (paper Sec. 6.1: tuned per domain) */
  batchNorm?: boolean;
  /** discount; default 0.99 */
  gamma?: number;
  /** soft target rate; default 0.001 */
  tau?: number;
  /** global gradient-norm clip, 0 = off; default 10 */
  gradClipNorm?: number;
  /** seed of the weight initialisation; default 0 */
  seed?: number;
  /** divergence guard: learning rate multiplier after a failed update; default 0.5 */
  divergence?: { lrDecay?: number };
  /** Adam beta1, beta2, eps; default Kingma & Ba's */
  adam?: Partial<AdamConfig>;
  /**
   * true (default): the networks work on actions a = u / uMax in [-1, 1] (reacher3's
   * bounds differ 20x, so unscaled the L network must span that range and P has torque units);
   * false: on torques u in N·m (what a checkpoint saved without action normalisation needs).
   * The agent's interface is in N·m either way.
   */
  normalizeActions?: boolean;
  /** Running observation normalisation at the network inputs (`normalizer.ts`); default false. */
  normalizeObservations?: boolean;
}

/** Options both agents take (after defaults are filled in). */
export interface CommonOptions {
  dX: number;
  dU: number;
  uMax: Float64Array;
  hidden: number[];
  lr: number;
  gamma: number;
  tau: number;
  gradClipNorm: number;
  seed: number;
}

/** `defaults` overridden by the options that are not undefined (an explicit undefined keeps the default). */
export function withDefaults<D extends object, O extends object>(
  defaults: D,
  options: O,
): O & { [K in keyof D]-?: K extends keyof O ? Exclude<O[K], undefined> : D[K] } {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given } as O & { [K in keyof D]-?: K extends keyof O ? Exclude<O[K], undefined> : D[K] };
}

/** @throws Error naming the first invalid option. */
export function validateCommon(who: string, o: CommonOptions): void {
  const bad = (what: string, got: unknown) => new Error(`${who}: ${what}, got ${fmt(got)}`);
  if (!Number.isInteger(o.dX) || o.dX < 1) throw bad('dX must be a positive integer', o.dX);
  if (!Number.isInteger(o.dU) || o.dU < 1) throw bad('dU must be a positive integer', o.dU);
  if (!(o.uMax instanceof Float64Array) || o.uMax.length !== o.dU) {
    throw bad(`uMax must be a Float64Array of dU=${o.dU} torque bounds (N·m)`, o.uMax);
  }
  if (!o.uMax.every((v) => Number.isFinite(v) && v > 0)) throw bad('uMax entries must be finite and > 0', Array.from(o.uMax));
  if (!Array.isArray(o.hidden) || o.hidden.length < 1 || !o.hidden.every((h) => Number.isInteger(h) && h > 0)) {
    throw bad('hidden must be a non-empty array of positive integers', o.hidden);
  }
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad('lr must be finite and > 0', o.lr);
  if (!(o.gamma >= 0 && o.gamma <= 1)) throw bad('gamma must be in [0, 1]', o.gamma);
  if (!(o.tau > 0 && o.tau <= 1)) throw bad('tau must be in (0, 1]', o.tau);
  if (!(o.gradClipNorm >= 0 && Number.isFinite(o.gradClipNorm))) throw bad('gradClipNorm must be finite and >= 0 (0 = off)', o.gradClipNorm);
  if (!Number.isFinite(o.seed)) throw bad('seed must be a finite number', o.seed);
}

/** `m` -> [-m, m]; `[lo, hi]` as given. @throws Error unless lo < hi, both finite. */
export function resolveLDiag(who: string, v: number | [number, number]): [number, number] {
  const r: [number, number] = typeof v === 'number' ? [-v, v] : [v[0], v[1]];
  if (!(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] < r[1])) {
    throw new Error(`${who}: lDiagMaxExp must be m > 0 or [lo, hi] with lo < hi, got ${fmt(v)}`);
  }
  return r;
}

/** Checks x [N*dX] (and u [N*dU]). @throws Error naming the wrong argument. */
export function checkInputs(who: string, x: Float32Array, N: number, dX: number, u?: Float32Array, dU?: number): void {
  if (!Number.isInteger(N) || N < 1) throw new Error(`${who}: N must be a positive integer, got ${fmt(N)}`);
  if (!(x instanceof Float32Array) || x.length !== N * dX) {
    throw new Error(`${who}: x must be a Float32Array of N*dX=${N * dX} values, got length ${fmt(x?.length)}`);
  }
  if (u !== undefined && (!(u instanceof Float32Array) || u.length !== N * dU!)) {
    throw new Error(`${who}: u must be a Float32Array of N*dU=${N * dU!} values, got length ${fmt(u?.length)}`);
  }
}

/**
 * Checks an `AgentState`'s kind, dX, dU and returns the named scalars.
 * @throws Error naming the mismatch or the missing scalar.
 */
export function readScalars(
  who: string,
  state: AgentState,
  kind: AgentState['kind'],
  dX: number,
  dU: number,
  keys: string[],
): Record<string, number> {
  if (state?.kind !== kind) throw new Error(`${who}.setState: state is for '${String(state?.kind)}', expected '${kind}'`);
  const s = state.scalars ?? {};
  if (s.dX !== dX || s.dU !== dU) {
    throw new Error(`${who}.setState: state has dX=${fmt(s.dX)}, dU=${fmt(s.dU)}; this agent has dX=${dX}, dU=${dU}`);
  }
  const out: Record<string, number> = {};
  for (const k of keys) {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw new Error(`${who}.setState: scalar '${k}' missing or not finite`);
    out[k] = s[k];
  }
  return out;
}

function fmt(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
