/**
 * Time-varying linear-Gaussian dynamics p_t(x_{t+1} | x_t, u_t) = N(F_t [x_t; u_t] + f_t, N_t),
 * refitted from the last batch of fixed-length episodes (paper Sec. 5.3, "iteratively refitted
 * time-varying linear models").
 *
 * For each t a Gaussian is fitted to the points [x_t; u_t; x_{t+1}] of the batch with a
 * normal-inverse-Wishart prior built from all time steps of the kept episodes pooled, then
 * conditioned on [x_t; u_t] (GPS `DynamicsLRPrior.fit` + `gauss_fit_joint_prior`). The prior is
 * either one Gaussian over the pooled points ('pooled', a single-cluster `DynamicsPriorGMM`) or a
 * Gaussian mixture fitted by EM ('gmm', GPS `DynamicsPriorGMM`), whose per-step prior follows the
 * mixture components the step's points belong to. This is what makes n = 5 episodes in
 * dX + dU + dX dimensions well-posed. Unlike GPS (T states, T−1 transitions) our episodes carry T+1 states,
 * so all T transitions get a model.
 */
import { Matrix } from 'ml-matrix';
import type { DynamicsModel, FitReport, LinearGaussianDynamics, Trajectory } from './types.js';
import { Rng, type RngState } from '../util/rng.js';
import { choleskyLower, GaussianMixture, gaussFitJointPrior, pooledNiwPrior, type GmmState, type NiwPrior } from './gaussian_fit.js';

export interface TvlgOptions {
  /** Episode length (transitions); every fitted episode must have T actions and T+1 states. */
  T: number;
  dX: number;
  dU: number;
  /** NIW prior pseudo-count scale (GPS `DynamicsPriorGMM` 'strength'), default 1. */
  priorStrength?: number;
  /** Added to the diagonal of Sigma[xu,xu] before conditioning and to N_t (GPS: 1e-6). */
  regularization?: number;
  /** Episodes kept for the pooled prior, newest last (GPS prior 'max_samples'), default 20. */
  priorMaxEpisodes?: number;
  /** Floor on the initial-state variance (GPS ALG 'initial_state_var'), default 1e-6. */
  initialStateVar?: number;
  /** 'pooled' (default): one Gaussian over all pooled points; 'gmm': GPS's GMM prior. */
  prior?: 'pooled' | 'gmm';
  /** GMM prior: K = max(2, min(maxClusters, floor(points / minSamplesPerCluster))); defaults
   * 20 and 40 (GPS mjc_example), EM iterations per fit 100 (GPS). */
  gmmMaxClusters?: number;
  gmmMinSamplesPerCluster?: number;
  gmmMaxIterations?: number;
  /** Seed of the GMM's random initial assignment. */
  seed?: number | string;
}

/** Plain-array checkpoint of a fitted TvlgDynamics (JSON-safe). */
export interface TvlgState {
  kind: 'tvlg';
  T: number;
  dX: number;
  dU: number;
  fitted: boolean;
  F: number[][];
  f: number[][];
  N: number[][];
  x0mu: number[];
  x0sigma: number[];
  priorEpisodes: { x: number[][]; u: number[][] }[];
  /** GMM prior state (warm start) and its rng, when prior = 'gmm'. */
  gmm?: GmmState | null;
  rng?: RngState;
}

/** Time-varying linear-Gaussian dynamics model ('tvlg' variant of paper Sec. 6.3). */
export class TvlgDynamics implements DynamicsModel {
  readonly kind = 'tvlg' as const;
  readonly T: number;
  readonly dX: number;
  readonly dU: number;
  private readonly strength: number;
  private readonly reg: number;
  private readonly priorMax: number;
  private readonly x0VarFloor: number;
  private dyn: LinearGaussianDynamics | null = null;
  /** T entries of [dX*dX], lower Cholesky factor of N_t (for sampling). */
  private cholN: Float64Array[] = [];
  private priorEpisodes: Trajectory[] = [];
  private readonly priorKind: 'pooled' | 'gmm';
  private readonly gmmOpts: { maxClusters: number; minSamples: number; maxIterations: number };
  private rng: Rng;
  private gmm: GaussianMixture;

  /** @throws RangeError on a non-positive dimension or option. */
  constructor(opts: TvlgOptions) {
    for (const k of ['T', 'dX', 'dU'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new RangeError(`TvlgDynamics: ${k} must be a positive integer, got ${opts[k]}`);
    }
    this.T = opts.T;
    this.dX = opts.dX;
    this.dU = opts.dU;
    this.strength = opts.priorStrength ?? 1;
    this.reg = opts.regularization ?? 1e-6;
    this.priorMax = opts.priorMaxEpisodes ?? 20;
    this.x0VarFloor = opts.initialStateVar ?? 1e-6;
    this.priorKind = opts.prior ?? 'pooled';
    this.gmmOpts = { maxClusters: opts.gmmMaxClusters ?? 20, minSamples: opts.gmmMinSamplesPerCluster ?? 40, maxIterations: opts.gmmMaxIterations ?? 100 };
    this.rng = new Rng(opts.seed ?? 0);
    this.gmm = new GaussianMixture(() => this.rng.uniform());
    if (this.priorKind !== 'pooled' && this.priorKind !== 'gmm') throw new RangeError(`TvlgDynamics: prior must be 'pooled' or 'gmm', got ${String(this.priorKind)}`);
    for (const [k, v] of Object.entries(this.gmmOpts)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`TvlgDynamics: gmm option ${k} must be a positive integer, got ${v}`);
    }
    if (!(this.strength > 0)) throw new RangeError(`TvlgDynamics: priorStrength must be > 0, got ${this.strength}`);
    if (!(this.reg >= 0)) throw new RangeError(`TvlgDynamics: regularization must be >= 0, got ${this.reg}`);
    if (!Number.isInteger(this.priorMax) || this.priorMax < 1) throw new RangeError(`TvlgDynamics: priorMaxEpisodes must be a positive integer, got ${this.priorMax}`);
    if (!(this.x0VarFloor > 0)) throw new RangeError(`TvlgDynamics: initialStateVar must be > 0, got ${this.x0VarFloor}`);
  }

  get ready(): boolean {
    return this.dyn !== null;
  }

  /**
   * Refits every F_t, f_t, N_t from `episodes` (the batch B_f, n >= 2 episodes of length T) and
   * x0mu / x0sigma = diag(max(var x_0, initialStateVar)) (GPS `Algorithm._update_dynamics`; GPS's
   * extra prior inflation of x0sigma is not applied). The batch is appended to the prior pool.
   * @throws RangeError on fewer than 2 episodes, wrong lengths/dimensions or non-finite values.
   */
  fit(episodes: Trajectory[]): FitReport {
    const t0 = performance.now();
    if (episodes.length < 2) throw new RangeError(`TvlgDynamics.fit: need >= 2 episodes, got ${episodes.length}`);
    episodes.forEach((e, i) => this.checkEpisode(e, i));
    const { T, dX, dU } = this;
    const D = dX + dU + dX;
    this.priorEpisodes = this.priorEpisodes.concat(episodes.map(copyEpisode)).slice(-this.priorMax);

    const pool = this.priorEpisodes;
    const pooled = new Matrix(pool.length * T, D);
    pool.forEach((e, i) => {
      for (let t = 0; t < T; t++) pooled.setRow(i * T + t, joint(e, t));
    });
    let priorAt: (Y: Matrix) => NiwPrior;
    if (this.priorKind === 'gmm') {
      const { maxClusters, minSamples, maxIterations } = this.gmmOpts;
      const K = Math.max(2, Math.min(maxClusters, Math.floor(pooled.rows / minSamples)));
      this.gmm.update(pooled, K, maxIterations);
      priorAt = (Y) => this.gmm.prior(Y, this.strength);
    } else {
      const prior = pooledNiwPrior(pooled, this.strength);
      priorAt = () => prior;
    }

    const n = episodes.length;
    const F: Float64Array[] = [], f: Float64Array[] = [], N: Float64Array[] = [];
    this.cholN = [];
    for (let t = 0; t < T; t++) {
      const Y = new Matrix(n, D);
      episodes.forEach((e, i) => Y.setRow(i, joint(e, t)));
      const g = gaussFitJointPrior(Y, priorAt(Y), dX + dU, this.reg);
      for (let i = 0; i < dX; i++) g.N.set(i, i, g.N.get(i, i) + this.reg);
      const L = choleskyLower(g.N);
      if (!L) throw new RangeError(`TvlgDynamics.fit: N_${t} is not positive definite (raise regularization)`);
      F.push(Float64Array.from(g.F.to1DArray()));
      f.push(g.f);
      N.push(Float64Array.from(g.N.to1DArray()));
      this.cholN.push(Float64Array.from(L.to1DArray()));
    }

    const x0mu = new Float64Array(dX);
    const x0sigma = new Float64Array(dX * dX);
    for (const e of episodes) for (let i = 0; i < dX; i++) x0mu[i] += e.x[0][i] / n;
    for (let i = 0; i < dX; i++) {
      let v = 0;
      for (const e of episodes) v += (e.x[0][i] - x0mu[i]) ** 2 / n;
      x0sigma[i * dX + i] = Math.max(v, this.x0VarFloor);
    }
    this.dyn = { T, dX, dU, F, f, N, x0mu, x0sigma };
    return { oneStepMse: this.oneStepMse(episodes), ms: performance.now() - t0 };
  }

  /** The fitted parameters (shared arrays: do not mutate). @throws Error before the first fit. */
  params(): LinearGaussianDynamics {
    if (!this.dyn) throw new Error('TvlgDynamics.params: the model has not been fitted yet');
    return this.dyn;
  }

  /**
   * x_{t+1} = F_t [x; u] + f_t (+ chol(N_t) z, z ~ N(0, I), when `rng` is given).
   * @param x [dX]  @param u [dU] N·m  @param t step in [0, T)
   * @throws RangeError on t outside [0, T) or wrong sizes; Error before the first fit.
   */
  step(x: Float64Array, u: Float64Array, t: number, rng?: Rng): Float64Array {
    const d = this.params();
    if (!Number.isInteger(t) || t < 0 || t >= this.T) throw new RangeError(`TvlgDynamics.step: t must be an integer in [0, ${this.T}), got ${t}`);
    if (x.length !== this.dX || u.length !== this.dU) throw new RangeError(`TvlgDynamics.step: x/u sizes ${x.length}/${u.length}, expected ${this.dX}/${this.dU}`);
    const { dX, dU } = this;
    const Ft = d.F[t], y = new Float64Array(dX);
    for (let i = 0; i < dX; i++) {
      let s = d.f[t][i];
      const row = i * (dX + dU);
      for (let j = 0; j < dX; j++) s += Ft[row + j] * x[j];
      for (let j = 0; j < dU; j++) s += Ft[row + dX + j] * u[j];
      y[i] = s;
    }
    if (rng) {
      const z = rng.normals(new Float64Array(dX)), L = this.cholN[t];
      for (let i = 0; i < dX; i++) for (let j = 0; j <= i; j++) y[i] += L[i * dX + j] * z[j];
    }
    return y;
  }

  /** Mean over episodes, steps and state dims of (x_{t+1} − mean prediction)². */
  oneStepMse(episodes: Trajectory[]): number {
    if (episodes.length === 0) throw new RangeError('TvlgDynamics.oneStepMse: no episodes');
    let s = 0, count = 0;
    episodes.forEach((e, i) => {
      this.checkEpisode(e, i);
      for (let t = 0; t < this.T; t++) {
        const p = this.step(e.x[t], e.u[t], t);
        for (let j = 0; j < this.dX; j++) s += (e.x[t + 1][j] - p[j]) ** 2;
        count += this.dX;
      }
    });
    return s / count;
  }

  getState(): TvlgState {
    const a = (v: Float64Array[]) => v.map((r) => Array.from(r));
    const d = this.dyn;
    return {
      kind: 'tvlg', T: this.T, dX: this.dX, dU: this.dU, fitted: d !== null,
      F: d ? a(d.F) : [], f: d ? a(d.f) : [], N: d ? a(d.N) : [],
      x0mu: d ? Array.from(d.x0mu) : [], x0sigma: d ? Array.from(d.x0sigma) : [],
      priorEpisodes: this.priorEpisodes.map((e) => ({ x: a(e.x), u: a(e.u) })),
      gmm: this.gmm.K > 0 ? this.gmm.getState() : null,
      rng: this.rng.state(),
    };
  }

  /** Restores a `getState()` snapshot. @throws TypeError/RangeError on a malformed or mismatched state. */
  setState(s: unknown): void {
    const st = s as TvlgState;
    if (!st || st.kind !== 'tvlg') throw new TypeError('TvlgDynamics.setState: not a tvlg state');
    if (st.T !== this.T || st.dX !== this.dX || st.dU !== this.dU) {
      throw new RangeError(`TvlgDynamics.setState: dimensions T/dX/dU ${st.T}/${st.dX}/${st.dU} != ${this.T}/${this.dX}/${this.dU}`);
    }
    const a = (v: number[][]) => v.map((r) => Float64Array.from(r));
    this.priorEpisodes = st.priorEpisodes.map((e) => ({ x: a(e.x), u: a(e.u) }));
    if (st.rng) this.rng = new Rng(0, st.rng);
    this.gmm = new GaussianMixture(() => this.rng.uniform());
    if (st.gmm) this.gmm.setState(st.gmm);
    if (!st.fitted) {
      this.dyn = null;
      this.cholN = [];
      return;
    }
    const { T, dX, dU } = this;
    const dyn: LinearGaussianDynamics = {
      T, dX, dU, F: a(st.F), f: a(st.f), N: a(st.N),
      x0mu: Float64Array.from(st.x0mu), x0sigma: Float64Array.from(st.x0sigma),
    };
    if (dyn.F.length !== T || dyn.F.some((r) => r.length !== dX * (dX + dU)) || dyn.N.some((r) => r.length !== dX * dX)) {
      throw new RangeError('TvlgDynamics.setState: F/N arrays have the wrong shape');
    }
    this.cholN = dyn.N.map((Nt, t) => {
      const L = choleskyLower(Matrix.from1DArray(dX, dX, Nt));
      if (!L) throw new RangeError(`TvlgDynamics.setState: N_${t} is not positive definite`);
      return Float64Array.from(L.to1DArray());
    });
    this.dyn = dyn;
  }

  private checkEpisode(e: Trajectory, i: number): void {
    const { T, dX, dU } = this;
    if (e.x.length !== T + 1 || e.u.length !== T) {
      throw new RangeError(`TvlgDynamics: episode ${i} has ${e.x.length} states / ${e.u.length} actions, expected T+1=${T + 1} / T=${T} (fixed-length episodes, Sec. 5.3)`);
    }
    for (const v of e.x) if (v.length !== dX || !v.every(Number.isFinite)) throw new RangeError(`TvlgDynamics: episode ${i} has a state that is not ${dX} finite numbers`);
    for (const v of e.u) if (v.length !== dU || !v.every(Number.isFinite)) throw new RangeError(`TvlgDynamics: episode ${i} has an action that is not ${dU} finite numbers`);
  }
}

/** [x_t; u_t; x_{t+1}] as a plain array. */
function joint(e: Trajectory, t: number): number[] {
  return [...e.x[t], ...e.u[t], ...e.x[t + 1]];
}

function copyEpisode(e: Trajectory): Trajectory {
  return { x: e.x.map((v) => Float64Array.from(v)), u: e.u.map((v) => Float64Array.from(v)) };
}
