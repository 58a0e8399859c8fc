/**
 * Global time-invariant neural-network dynamics x' = x + g(x, u), the paper's "-NN" model variant
 * (Sec. 6.3: "a neural network model ... fitted to all of the data so far"), compared there with
 * the time-varying linear models of Sec. 5.3.
 *
 * g is an MLP (ReLU hidden layers, linear output) on inputs [x; u] standardised by running
 * statistics, predicting the standardised state change x' − x. fit() appends every transition it
 * is given to a capped ring buffer (all data so far, up to `capacity`) and runs minibatch Adam
 * steps with global-norm clipping on the project's flat-buffer MLP machinery (`src/nn`: tfjs forward
 * and explicit backward passes, Adam as one loop over the weights; a non-finite step is skipped).
 * step() runs a plain-JS forward pass of the current weights (no tfjs call per imagined step) and
 * adds Gaussian noise with the fitted per-dimension residual std when an rng is given.
 */
import * as tf from '@tensorflow/tfjs';
import type { DynamicsModel, FitReport, Trajectory } from './types.js';
import { Rng, type RngState } from '../util/rng.js';
import { ADAM_DEFAULTS, adamStep, clipScale, F32_MAX, sumSquares } from '../nn/adam.js';
import { FlatState } from '../nn/flat_state.js';
import { ParamLayout } from '../nn/layout.js';
import { forwardTransposes, mlpBackward, mlpForward, mlpInit, type LayerCache, type MlpSpec } from '../nn/mlp.js';
import { downloadInto, featureMajor, lookup, transpose2d, uploadTensors } from '../nn/tensors.js';

export interface NnDynamicsOptions {
  dX: number;
  dU: number;
  /** Hidden layer widths, default [64, 64] (paper: 2 hidden layers). */
  hidden?: number[];
  learningRate?: number;
  batchSize?: number;
  /** Minibatch steps per fit() (default 200); `epochsPerFit`, when given, takes precedence. */
  stepsPerFit?: number;
  /** Passes over the stored data per fit(): steps = ceil(epochs · size / batchSize). */
  epochsPerFit?: number;
  /** Ring-buffer capacity in transitions, default 100000. */
  capacity?: number;
  /** Global gradient-norm clip, default 10 (<= 0: off). */
  clipNorm?: number;
  /** Episode length: when given, step() rejects t outside [0, T). */
  T?: number;
  seed?: number | string;
}

/** Checkpoint of an NnDynamics (typed arrays inside; see src/training/checkpoint.ts). */
export interface NnDynamicsState {
  kind: 'nn';
  sizes: number[];
  fitted: boolean;
  /** Adam step count */
  t: number;
  /** Weights and Adam moments, per tensor (W [in*out] row-major, b [out]) */
  params: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  inStats: { n: number; mean: Float64Array; m2: Float64Array };
  outStats: { n: number; mean: Float64Array; m2: Float64Array };
  residualStd: Float64Array;
  size: number;
  head: number;
  /** [size*(dX+dU)] and [size*dX], in ring order */
  inputs: Float32Array;
  targets: Float32Array;
  rng: RngState;
}

/** Running mean/variance (Welford) per dimension. */
class RunningStats {
  n = 0;
  mean: Float64Array;
  m2: Float64Array;
  constructor(d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }
  add(v: ArrayLike<number>): void {
    this.n++;
    for (let i = 0; i < this.mean.length; i++) {
      const d = v[i] - this.mean[i];
      this.mean[i] += d / this.n;
      this.m2[i] += d * (v[i] - this.mean[i]);
    }
  }
  /** Std per dim; 1 where the data do not vary (so constant inputs pass through). */
  std(): Float64Array {
    return this.m2.map((m) => {
      const s = this.n > 1 ? Math.sqrt(m / (this.n - 1)) : 0;
      return s > 1e-8 ? s : 1;
    });
  }
}

/** Neural-network dynamics model ('nn' variant). Call `dispose()` when done. */
export class NnDynamics implements DynamicsModel {
  readonly kind = 'nn' as const;
  readonly dX: number;
  readonly dU: number;
  private readonly sizes: number[];
  private readonly o: Required<Omit<NnDynamicsOptions, 'T' | 'seed' | 'epochsPerFit'>> & { T?: number; epochsPerFit?: number };
  private rng: Rng;
  private readonly spec: MlpSpec;
  private readonly layout: ParamLayout;
  /** weights and Adam moments, flat (`layout`) */
  private readonly state: FlatState<'theta' | 'm' | 'v', 'grad'>;
  private readonly grad: Float32Array;
  private t = 0;
  private inStats: RunningStats;
  private outStats: RunningStats;
  private residualStd: Float64Array;
  private inputs: Float32Array;
  private targets: Float32Array;
  private size = 0;
  private head = 0;
  private fitted = false;

  /** @throws RangeError on a non-positive size or option. */
  constructor(opts: NnDynamicsOptions) {
    const o = { hidden: [64, 64], learningRate: 1e-3, batchSize: 64, stepsPerFit: 200, capacity: 100000, clipNorm: 10, ...opts };
    for (const k of ['dX', 'dU', 'batchSize', 'stepsPerFit', 'capacity'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`NnDynamics: ${k} must be a positive integer, got ${o[k]}`);
    }
    if (!o.hidden.length || !o.hidden.every((h) => Number.isInteger(h) && h > 0)) throw new RangeError(`NnDynamics: hidden must be positive integers, got [${o.hidden}]`);
    if (!(o.learningRate > 0)) throw new RangeError(`NnDynamics: learningRate must be > 0, got ${o.learningRate}`);
    if (o.epochsPerFit !== undefined && !(o.epochsPerFit > 0)) throw new RangeError(`NnDynamics: epochsPerFit must be > 0, got ${o.epochsPerFit}`);
    this.o = o;
    this.dX = o.dX;
    this.dU = o.dU;
    this.sizes = [o.dX + o.dU, ...o.hidden, o.dX];
    this.rng = new Rng(opts.seed ?? 0);
    this.inStats = new RunningStats(o.dX + o.dU);
    this.outStats = new RunningStats(o.dX);
    this.residualStd = new Float64Array(o.dX);
    this.inputs = new Float32Array(o.capacity * (o.dX + o.dU));
    this.targets = new Float32Array(o.capacity * o.dX);
    // DDPG-style init (`nn/mlp.ts`): hidden U[±1/sqrt(fan_in)], output U[±3e-3].
    this.spec = { prefix: 'g', sizes: this.sizes, activateLast: false, batchNorm: false };
    const init = mlpInit(this.spec, this.rng).params;
    this.layout = new ParamLayout(init);
    this.state = new FlatState({ theta: this.layout.size, m: this.layout.size, v: this.layout.size }, { scratch: { grad: this.layout.size } });
    for (const p of init) this.state.current.theta.set(p.data, this.layout.entry(p.name).offset);
    this.grad = this.state.scratch.grad;
  }

  get ready(): boolean {
    return this.fitted;
  }

  /** Number of stored transitions (<= capacity). */
  get datasetSize(): number {
    return this.size;
  }

  /**
   * Appends all transitions of `episodes` (any lengths) to the dataset and trains.
   * @returns oneStepMse on `episodes` after training, wall time in ms.
   * @throws RangeError on wrong sizes or non-finite values (nothing is stored then).
   */
  fit(episodes: Trajectory[]): FitReport {
    const t0 = performance.now();
    const { dX, dU } = this, dIn = dX + dU;
    if (episodes.length === 0) throw new RangeError('NnDynamics.fit: no episodes');
    episodes.forEach((e, i) => {
      if (e.x.length !== e.u.length + 1) throw new RangeError(`NnDynamics.fit: episode ${i} has ${e.x.length} states for ${e.u.length} actions (need one more state)`);
      for (const v of e.x) if (v.length !== dX || !v.every(Number.isFinite)) throw new RangeError(`NnDynamics.fit: episode ${i} has a state that is not ${dX} finite numbers`);
      for (const v of e.u) if (v.length !== dU || !v.every(Number.isFinite)) throw new RangeError(`NnDynamics.fit: episode ${i} has an action that is not ${dU} finite numbers`);
    });
    const z = new Float64Array(dIn), d = new Float64Array(dX);
    for (const e of episodes) {
      for (let t = 0; t < e.u.length; t++) {
        z.set(e.x[t]); z.set(e.u[t], dX);
        for (let i = 0; i < dX; i++) d[i] = e.x[t + 1][i] - e.x[t][i];
        this.inputs.set(z, this.head * dIn);
        this.targets.set(d, this.head * dX);
        this.inStats.add(z);
        this.outStats.add(d);
        this.head = (this.head + 1) % this.o.capacity;
        this.size = Math.min(this.size + 1, this.o.capacity);
      }
    }
    if (this.size > 0) {
      const B = this.o.batchSize;
      const steps = this.o.epochsPerFit ? Math.ceil((this.o.epochsPerFit * this.size) / B) : this.o.stepsPerFit;
      for (let s = 0; s < steps; s++) this.trainStep(B);
      this.fitResidualStd();
      this.fitted = true;
    }
    return { oneStepMse: this.fitted ? this.oneStepMse(episodes) : NaN, ms: performance.now() - t0 };
  }

  /**
   * x' = x + g(x, u) (+ residualStd ⊙ z, z ~ N(0, I), when `rng` is given). Time-invariant: t is
   * only range-checked. @param x [dX] @param u [dU] N·m
   * @throws RangeError on wrong sizes or a bad t; Error before the first fit.
   */
  step(x: Float64Array, u: Float64Array, t: number, rng?: Rng): Float64Array {
    if (!this.fitted) throw new Error('NnDynamics.step: the model has not been fitted yet');
    if (!Number.isInteger(t) || t < 0 || (this.o.T !== undefined && t >= this.o.T)) throw new RangeError(`NnDynamics.step: bad time step ${t}`);
    if (x.length !== this.dX || u.length !== this.dU) throw new RangeError(`NnDynamics.step: x/u sizes ${x.length}/${u.length}, expected ${this.dX}/${this.dU}`);
    const y = this.predictDelta(x, u);
    for (let i = 0; i < this.dX; i++) y[i] += x[i] + (rng ? this.residualStd[i] * rng.normal() : 0);
    return y;
  }

  /** Mean over transitions and state dims of (x_{t+1} − mean prediction)². */
  oneStepMse(episodes: Trajectory[]): number {
    let s = 0, n = 0;
    for (const e of episodes) {
      for (let t = 0; t < e.u.length; t++) {
        const p = this.step(e.x[t], e.u[t], 0);
        for (let i = 0; i < this.dX; i++) s += (e.x[t + 1][i] - p[i]) ** 2;
        n += this.dX;
      }
    }
    if (n === 0) throw new RangeError('NnDynamics.oneStepMse: no transitions');
    return s / n;
  }

  /** Fitted residual std per state dim [dX] (the noise step() adds with an rng). */
  noiseStd(): Float64Array {
    return this.residualStd.slice();
  }

  /** Network output for a batch through tfjs [n, dX] (used to check the JS forward pass). */
  predictDeltaTf(x: Float64Array[], u: Float64Array[]): Float32Array {
    const dIn = this.dX + this.dU, buf = new Float32Array(x.length * dIn);
    x.forEach((xi, r) => { buf.set(this.normIn(xi, u[r]), r * dIn); });
    let out: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const p = lookup(uploadTensors(this.layout, this.state.current.theta, forwardTransposes(this.spec)), 'NnDynamics');
      out = transpose2d(mlpForward(this.spec, p, featureMajor(buf, x.length, dIn)).dataSync(), this.dX, x.length);
    });
    const mean = this.outStats.mean, std = this.outStats.std();
    return out.map((v, i) => v * std[i % this.dX] + mean[i % this.dX]);
  }

  /** Weights, Adam moments, statistics, dataset and rng (typed arrays inside). */
  getState(): NnDynamicsState {
    const cur = this.state.current;
    const read = (buf: Float32Array) => this.layout.entries.map((e) => buf.slice(e.offset, e.offset + e.size));
    const dIn = this.dX + this.dU;
    return {
      kind: 'nn', sizes: this.sizes.slice(), fitted: this.fitted, t: this.t,
      params: read(cur.theta), m: read(cur.m), v: read(cur.v),
      inStats: { n: this.inStats.n, mean: this.inStats.mean.slice(), m2: this.inStats.m2.slice() },
      outStats: { n: this.outStats.n, mean: this.outStats.mean.slice(), m2: this.outStats.m2.slice() },
      residualStd: this.residualStd.slice(), size: this.size, head: this.head,
      inputs: this.inputs.slice(0, this.size * dIn), targets: this.targets.slice(0, this.size * this.dX),
      rng: this.rng.state(),
    };
  }

  /** Restores `getState()` output. @throws RangeError when the layer sizes or capacity differ. */
  setState(s: unknown): void {
    const st = s as NnDynamicsState;
    if (!st || st.kind !== 'nn' || String(st.sizes) !== String(this.sizes)) {
      throw new RangeError(`NnDynamics.setState: layer sizes [${st?.sizes}] != [${this.sizes}]`);
    }
    if (st.size > this.o.capacity) throw new RangeError(`NnDynamics.setState: ${st.size} transitions exceed capacity ${this.o.capacity}`);
    for (const [key, data] of [['theta', st.params], ['m', st.m], ['v', st.v]] as const) {
      if (!Array.isArray(data) || data.length !== this.layout.entries.length) throw new RangeError(`NnDynamics.setState: ${key} needs ${this.layout.entries.length} tensors`);
      this.layout.entries.forEach((e, i) => {
        if (data[i].length !== e.size) throw new RangeError(`NnDynamics.setState: tensor ${i} has ${data[i].length} values, expected ${e.size}`);
      });
    }
    const cur = this.state.current;
    for (const [key, data] of [['theta', st.params], ['m', st.m], ['v', st.v]] as const) {
      this.layout.entries.forEach((e, i) => cur[key].set(data[i], e.offset));
    }
    for (const [dst, src] of [[this.inStats, st.inStats], [this.outStats, st.outStats]] as const) {
      dst.n = src.n; dst.mean.set(src.mean); dst.m2.set(src.m2);
    }
    this.t = st.t; this.fitted = st.fitted; this.size = st.size; this.head = st.head % this.o.capacity;
    this.residualStd.set(st.residualStd);
    this.inputs.set(st.inputs); this.targets.set(st.targets);
    this.rng = new Rng(0, st.rng);
  }

  /** Nothing to free: the weights are plain arrays (kept for the `DynamicsModel` contract). */
  dispose(): void {}

  /**
   * One minibatch Adam step on the mean squared error of the standardised state change; a step
   * whose loss or gradient norm is not finite is skipped (the weights stay as they were).
   */
  private trainStep(B: number): void {
    const { dX, dU } = this, dIn = dX + dU;
    const xb = new Float32Array(B * dIn), yb = new Float32Array(B * dX);
    const inMean = this.inStats.mean, inStd = this.inStats.std(), outMean = this.outStats.mean, outStd = this.outStats.std();
    for (let r = 0; r < B; r++) {
      const j = this.rng.int(this.size);
      for (let i = 0; i < dIn; i++) xb[r * dIn + i] = (this.inputs[j * dIn + i] - inMean[i]) / inStd[i];
      for (let i = 0; i < dX; i++) yb[r * dX + i] = (this.targets[j * dX + i] - outMean[i]) / outStd[i];
    }
    this.t++;
    let loss = NaN;
    const cur = this.state.current;
    tf.tidy(() => {
      const p = lookup(uploadTensors(this.layout, cur.theta, forwardTransposes(this.spec)), 'NnDynamics');
      const cache: LayerCache[] = [];
      const out = transpose2d(mlpForward(this.spec, p, featureMajor(xb, B, dIn), undefined, cache).dataSync(), dX, B);
      const dOut = new Float32Array(B * dX);
      let l = 0;
      for (let i = 0; i < dOut.length; i++) {
        const e = out[i] - yb[i];
        l += e * e;
        dOut[i] = (2 * e) / dOut.length;
      }
      loss = l / dOut.length;
      const grads = new Map<string, tf.Tensor>();
      mlpBackward(this.spec, p, cache, featureMajor(dOut, B, dX), grads, { inputGrad: false });
      downloadInto(this.layout, this.grad, grads);
    });
    const norm2 = sumSquares(this.grad);
    if (!Number.isFinite(loss) || !(norm2 <= F32_MAX)) return; // divergence guard: skip a non-finite step
    const scale = clipScale(Math.sqrt(norm2), this.o.clipNorm);
    this.state.beginStep({});
    const finite = adamStep({ ...cur, g: this.grad, out: cur, start: 0, end: this.layout.size, t: this.t, lr: this.o.learningRate, scale, cfg: ADAM_DEFAULTS });
    if (finite) this.state.commit();
    else this.state.rollback();
  }

  /** Standardised network input [(x - mean) / std; (u - mean) / std], [dX + dU]. */
  private normIn(x: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
    const mean = this.inStats.mean, std = this.inStats.std(), z = new Float64Array(this.dX + this.dU);
    for (let i = 0; i < this.dX; i++) z[i] = (x[i] - mean[i]) / std[i];
    for (let i = 0; i < this.dU; i++) z[this.dX + i] = (u[i] - mean[this.dX + i]) / std[this.dX + i];
    return z;
  }

  /** Plain-JS forward pass of the current weights: de-normalised g(x, u) [dX]. */
  private predictDelta(x: Float64Array, u: Float64Array): Float64Array {
    const theta = this.state.current.theta;
    let h = this.normIn(x, u);
    const L = this.sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const W = this.layout.view(theta, `g/${l}/W`), b = this.layout.view(theta, `g/${l}/b`), nIn = this.sizes[l], nOut = this.sizes[l + 1];
      const out = Float64Array.from(b);
      for (let i = 0; i < nIn; i++) {
        const hi = h[i];
        if (hi !== 0) for (let j = 0; j < nOut; j++) out[j] += hi * W[i * nOut + j];
      }
      if (l + 1 < L) for (let j = 0; j < nOut; j++) out[j] = Math.max(0, out[j]);
      h = out;
    }
    const outStd = this.outStats.std();
    return h.map((v, i) => v * outStd[i] + this.outStats.mean[i]);
  }

  /** Per-dim std of (Δx − g) over up to the 4096 newest stored transitions. */
  private fitResidualStd(): void {
    const { dX, dU } = this, dIn = dX + dU, n = Math.min(this.size, 4096);
    const sum = new Float64Array(dX), sq = new Float64Array(dX);
    for (let r = 0; r < n; r++) {
      const j = (this.head - 1 - r + this.o.capacity) % this.o.capacity;
      const z = this.inputs.subarray(j * dIn, (j + 1) * dIn);
      const g = this.predictDelta(Float64Array.from(z.subarray(0, dX)), Float64Array.from(z.subarray(dX)));
      for (let i = 0; i < dX; i++) {
        const e = this.targets[j * dX + i] - g[i];
        sum[i] += e; sq[i] += e * e;
      }
    }
    for (let i = 0; i < dX; i++) this.residualStd[i] = Math.sqrt(Math.max(sq[i] / n - (sum[i] / n) ** 2, 0)) || 1e-6;
  }
}
