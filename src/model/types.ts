/**
 * Dynamics models used by Algorithm 2 (paper Sec. 5): imagination rollouts step x' ~ M(x, u, t).
 * Shapes: x [dX], u [dU] (N·m). t is the time step within the episode, 0-based.
 */
import type { Rng } from '../util/rng.js';

/** One fixed-length episode: x has T+1 states, u has T actions. */
export interface Trajectory {
  /** T+1 entries of [dX] */
  x: Float64Array[];
  /** T entries of [dU] */
  u: Float64Array[];
}

/** Time-varying linear-Gaussian dynamics p_t(x'|x,u) = N(F_t [x; u] + f_t, N_t) (Sec. 5.3). */
export interface LinearGaussianDynamics {
  T: number;
  dX: number;
  dU: number;
  /** T entries of [dX * (dX+dU)] row-major */
  F: Float64Array[];
  /** T entries of [dX] */
  f: Float64Array[];
  /** T entries of [dX * dX] row-major, symmetric positive definite */
  N: Float64Array[];
  /** Empirical initial-state mean [dX] and covariance [dX*dX] of the fitted episodes. */
  x0mu: Float64Array;
  x0sigma: Float64Array;
}

export interface FitReport {
  /** Mean squared one-step prediction error of the mean on the fitted data, per state dim. */
  oneStepMse: number;
  /** Wall time of the fit, ms. */
  ms: number;
}

/** A model the imagination rollouts can step. Variants: tvlg | nn | true (paper Sec. 6.3). */
export interface DynamicsModel {
  readonly kind: 'tvlg' | 'nn' | 'true';
  /** True once the model can predict (after the first fit for learned models). */
  readonly ready: boolean;
  /** Refit from the latest batch of episodes (B_f). */
  fit(episodes: Trajectory[]): FitReport;
  /**
   * Next state for (x, u) at step t: a sample when `rng` is given (tvlg: mean + chol(N_t) z),
   * otherwise the mean. @throws RangeError when t is outside [0, T).
   */
  step(x: Float64Array, u: Float64Array, t: number, rng?: Rng): Float64Array;
  /** Mean squared one-step error of the mean prediction on the given episodes. */
  oneStepMse(episodes: Trajectory[]): number;
  /** Serialisable state for checkpoints. */
  getState(): unknown;
  setState(s: unknown): void;
}
