/**
 * Exploration noise N_t of Algorithm 1/2 ("u_t = mu(x_t) + N_t", Gu et al. 2016; "random process
 * N" as in Lillicrap et al. 2016), in N·m. Libraries disagree on what "OU sigma" means (with or
 * without sqrt(dt); DESIGN.md Sec. 8), so every convention is stated here:
 *
 * - `OUNoise`: Ornstein-Uhlenbeck in units of uMax, Euler-Maruyama with step dt:
 *     x_{k+1} = x_k + theta (0 - x_k) dt + sigma sqrt(dt) eps_k,  eps_k ~ N(0, I),   N_t = uMax * x
 *   stationary variance of x: sigma^2 dt / (1 - (1 - theta dt)^2)  (-> sigma^2 / (2 theta), dt -> 0).
 *   Defaults theta = 0.15, sigma = 0.3 (DDPG/keras-rl values) and dt = 1: time is counted in
 *   control periods, so theta is per step and sigma per sqrt(step) (stationary std ~0.57 uMax).
 *   Pass dt = the control period in s to give theta in 1/s and sigma in 1/sqrt(s) instead.
 * - `GaussianNoise`: iid N(0, (sigma uMax)^2) per joint.
 * - `PrecisionNoise`: the paper's adaptive rule (appendix 8.2, eq. 7): the Boltzmann policy of
 *   the NAF Q-function is N(mu(x), c P(x)^-1), and the OU innovations are drawn from that Gaussian:
 *     x_{k+1} = rho x_k + sqrt(1 - rho^2) eps_k,  eps_k = sqrt(c) L(x_k)^-T z,  z ~ N(0, I),
 *   rho = 1 - theta dt. Cov(L^-T z) = (L L^T)^-1 = P^-1. The sqrt(1 - rho^2) gain is our choice
 *   (the paper's "heuristic adaptive-scaling trick" is unspecified): with P constant the
 *   stationary covariance is exactly c P^-1, so c is eq. 7's scale whatever theta and dt are;
 *   theta dt = 1 gives iid samples of N(0, c P^-1). Units: x in N·m; c in units of Q (reward).
 *
 * The random generator is the caller's (it is checkpointed with the caller's other streams);
 * `getState` holds only the process value x.
 */
import type { Rng } from '../util/rng.js';
import type { ExplorationNoise } from './types.js';

export type NoiseKind = 'ou' | 'gaussian' | 'precision' | 'none';

export interface NoiseOptions {
  dU: number;
  /** [dU] torque bound, N·m */
  uMax: Float64Array;
  /** OU/Gaussian scale as a fraction of uMax; default 0.3 */
  sigma?: number;
  /** OU / precision mean-reversion rate, per unit of dt; default 0.15 */
  theta?: number;
  /** time step of the process; default 1 (one control period) */
  dt?: number;
  /** precision noise: c of N(0, c P^-1); default 1 */
  c?: number;
}

/** Ornstein-Uhlenbeck noise in units of uMax (module docstring for the convention). */
export class OUNoise implements ExplorationNoise {
  private readonly x: Float64Array;
  private readonly sigma: number;
  private readonly theta: number;
  private readonly dt: number;

  /** @throws Error naming the invalid option (needs sigma >= 0, theta >= 0, dt > 0, theta dt <= 1). */
  constructor(private readonly opts: NoiseOptions, private readonly rng: Rng) {
    checkBase('OUNoise', opts);
    this.sigma = opts.sigma ?? 0.3;
    this.theta = opts.theta ?? 0.15;
    this.dt = opts.dt ?? 1;
    checkProcess('OUNoise', this.theta, this.dt);
    if (!(this.sigma >= 0 && Number.isFinite(this.sigma))) throw new Error(`OUNoise: sigma must be finite and >= 0, got ${this.sigma}`);
    this.x = new Float64Array(opts.dU);
  }

  /** x <- 0 (start of an episode, Algorithm 1 "Initialize a random process N"). */
  reset(): void {
    this.x.fill(0);
  }

  /** Advances the process one step and returns uMax * x [dU], N·m. */
  sample(): Float64Array {
    const { theta, dt, sigma, x } = this;
    const out = new Float64Array(x.length);
    const s = sigma * Math.sqrt(dt);
    for (let j = 0; j < x.length; j++) {
      x[j] += -theta * x[j] * dt + s * this.rng.normal();
      out[j] = this.opts.uMax[j] * x[j];
    }
    return out;
  }

  /** Stationary variance of x (in units of uMax^2): sigma^2 dt / (1 - (1 - theta dt)^2). */
  stationaryVariance(): number {
    const a = 1 - this.theta * this.dt;
    return (this.sigma * this.sigma * this.dt) / (1 - a * a);
  }

  getState(): number[] {
    return Array.from(this.x);
  }

  /** @throws Error unless s has dU finite numbers. */
  setState(s: number[]): void {
    setProcess('OUNoise', this.x, s);
  }
}

/** iid Gaussian noise N(0, (sigma uMax)^2) per joint, N·m. */
export class GaussianNoise implements ExplorationNoise {
  private readonly sigma: number;

  /** @throws Error naming the invalid option. */
  constructor(private readonly opts: NoiseOptions, private readonly rng: Rng) {
    checkBase('GaussianNoise', opts);
    this.sigma = opts.sigma ?? 0.3;
    if (!(this.sigma >= 0 && Number.isFinite(this.sigma))) throw new Error(`GaussianNoise: sigma must be finite and >= 0, got ${this.sigma}`);
  }

  reset(): void {}

  sample(): Float64Array {
    const out = new Float64Array(this.opts.dU);
    for (let j = 0; j < out.length; j++) out[j] = this.sigma * this.opts.uMax[j] * this.rng.normal();
    return out;
  }

  getState(): number[] {
    return [];
  }

  /** @throws Error unless s is empty (the process has no state). */
  setState(s: number[]): void {
    if (!Array.isArray(s) || s.length !== 0) throw new Error(`GaussianNoise.setState: expected [], got ${JSON.stringify(s)}`);
  }
}

/** OU process with innovations from N(0, c P(x)^-1) (appendix 8.2; module docstring). */
export class PrecisionNoise implements ExplorationNoise {
  private readonly x: Float64Array;
  private readonly rho: number;
  private readonly c: number;
  private readonly z: Float64Array;

  /** @throws Error naming the invalid option (c > 0, theta > 0, dt > 0, theta dt <= 1). */
  constructor(private readonly opts: NoiseOptions, private readonly rng: Rng) {
    checkBase('PrecisionNoise', opts);
    const theta = opts.theta ?? 0.15;
    const dt = opts.dt ?? 1;
    checkProcess('PrecisionNoise', theta, dt);
    if (!(theta > 0)) throw new Error(`PrecisionNoise: theta must be > 0 (theta = 0 would freeze the process), got ${theta}`);
    this.c = opts.c ?? 1;
    if (!(this.c > 0 && Number.isFinite(this.c))) throw new Error(`PrecisionNoise: c must be finite and > 0, got ${this.c}`);
    this.rho = 1 - theta * dt;
    this.x = new Float64Array(opts.dU);
    this.z = new Float64Array(opts.dU);
  }

  reset(): void {
    this.x.fill(0);
  }

  /**
   * Advances the process with an innovation shaped by P(x)^-1 = (L L^T)^-1 and returns x [dU] N·m.
   * @param choleskyP L(x) row-major [dU*dU]; only its lower triangle is read.
   * @throws Error when L is missing (DDPG has no P), has the wrong size, or a non-positive or
   *   non-finite diagonal (then P is not positive definite).
   */
  sample(choleskyP?: Float64Array): Float64Array {
    const dU = this.opts.dU;
    if (!choleskyP) throw new Error('PrecisionNoise.sample: needs L(x) (the NAF actor\'s choleskyP); use ou or gaussian noise for DDPG');
    if (choleskyP.length !== dU * dU) throw new Error(`PrecisionNoise.sample: L must have dU*dU=${dU * dU} entries, got ${choleskyP.length}`);
    const eps = solveLowerTransposed(choleskyP, dU, this.rng.normals(this.z));
    const gain = Math.sqrt(this.c * (1 - this.rho * this.rho));
    for (let j = 0; j < dU; j++) this.x[j] = this.rho * this.x[j] + gain * eps[j];
    return Float64Array.from(this.x);
  }

  getState(): number[] {
    return Array.from(this.x);
  }

  /** @throws Error unless s has dU finite numbers. */
  setState(s: number[]): void {
    setProcess('PrecisionNoise', this.x, s);
  }
}

/** No exploration (evaluation runs): zeros. */
export class NoNoise implements ExplorationNoise {
  constructor(private readonly dU: number) {}
  reset(): void {}
  sample(): Float64Array {
    return new Float64Array(this.dU);
  }
  getState(): number[] {
    return [];
  }
  setState(): void {}
}

/**
 * Solves L^T w = z in place of z by back substitution (L lower-triangular, row-major [n*n],
 * diagonal > 0) and returns z. If z ~ N(0, I), w ~ N(0, (L L^T)^-1): sampling from a precision
 * matrix's Cholesky factor without forming an inverse.
 * @throws Error when a diagonal entry is not finite and > 0.
 */
export function solveLowerTransposed(L: Float64Array, n: number, z: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    const d = L[i * n + i];
    if (!(d > 0 && Number.isFinite(d))) throw new Error(`PrecisionNoise: L[${i}][${i}] = ${d} must be finite and > 0`);
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * z[k]; // (L^T)[i][k] = L[k][i]
    z[i] = s / d;
  }
  return z;
}

/**
 * Builds the configured exploration noise.
 * @throws Error for an unknown kind or invalid options.
 */
export function createNoise(kind: NoiseKind, opts: NoiseOptions, rng: Rng): ExplorationNoise {
  switch (kind) {
    case 'ou':
      return new OUNoise(opts, rng);
    case 'gaussian':
      return new GaussianNoise(opts, rng);
    case 'precision':
      return new PrecisionNoise(opts, rng);
    case 'none':
      checkBase('NoNoise', opts);
      return new NoNoise(opts.dU);
    default:
      throw new Error(`createNoise: kind must be ou, gaussian, precision or none, got ${String(kind)}`);
  }
}

function checkBase(who: string, o: NoiseOptions): void {
  if (!Number.isInteger(o?.dU) || o.dU < 1) throw new Error(`${who}: dU must be a positive integer, got ${o?.dU}`);
  if (!(o.uMax instanceof Float64Array) || o.uMax.length !== o.dU || !o.uMax.every((v) => v > 0 && Number.isFinite(v))) {
    throw new Error(`${who}: uMax must be a Float64Array of dU=${o.dU} finite bounds > 0 (N·m)`);
  }
}

function checkProcess(who: string, theta: number, dt: number): void {
  if (!(dt > 0 && Number.isFinite(dt))) throw new Error(`${who}: dt must be finite and > 0, got ${dt}`);
  if (!(theta >= 0 && theta * dt <= 1)) throw new Error(`${who}: theta must satisfy 0 <= theta*dt <= 1, got theta=${theta}, dt=${dt}`);
}

function setProcess(who: string, x: Float64Array, s: number[]): void {
  if (!Array.isArray(s) || s.length !== x.length || !s.every(Number.isFinite)) {
    throw new Error(`${who}.setState: expected ${x.length} finite numbers, got ${JSON.stringify(s)}`);
  }
  x.set(s);
}
