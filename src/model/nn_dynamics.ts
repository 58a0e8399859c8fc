/**
 * Global time-invariant neural-network dynamics x' = x + g(x, u), the paper's "-NN" model variant
 * (Sec. 6.3: "a neural network model ... fitted to all of the data so far"), compared there with
 * the time-varying linear models of Sec. 5.3.
 *
 * g is an MLP (ReLU hidden layers, linear output) on inputs [x; u] standardised by running
 * statistics, predicting the standardised state change x' − x. fit() appends every transition it
 * is given to a capped ring buffer (all data so far, up to `capacity`) and runs minibatch Adam
 * steps (the project's `adamUpdate`, with global-norm clipping) — weights and Adam moments are
 * tensors read synchronously, so `getState()` is exact. step() runs a plain-JS forward pass from a
 * weight snapshot (no tfjs call per imagined step) and adds Gaussian noise with the fitted
 * per-dimension residual std when an rng is given.
 */
import * as tf from '@tensorflow/tfjs';
import type { DynamicsModel, FitReport, Trajectory } from './types.js';
import { Rng, type RngState } from '../util/rng.js';
import { ADAM_DEFAULTS, adamUpdate } from '../agent/adam.js';

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
  private params: tf.Variable[] = [];
  private m: tf.Variable[] = [];
  private v: tf.Variable[] = [];
  private t = 0;
  private snapshot: Float32Array[] = [];
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
    // DDPG-style init (as src/agent/dense.ts): hidden U[±1/sqrt(fan_in)], output U[±3e-3].
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const [nIn, nOut] = [this.sizes[l], this.sizes[l + 1]];
      const a = l + 2 === this.sizes.length ? 3e-3 : 1 / Math.sqrt(nIn);
      const W = Float32Array.from({ length: nIn * nOut }, () => a * (2 * this.rng.uniform() - 1));
      const b = Float32Array.from({ length: nOut }, () => a * (2 * this.rng.uniform() - 1));
      const pairs: [Float32Array, number[]][] = [[W, [nIn, nOut]], [b, [nOut]]];
      for (const [data, shape] of pairs) {
        this.params.push(tf.variable(tf.tensor(data, shape)));
        this.m.push(tf.variable(tf.zeros(shape)));
        this.v.push(tf.variable(tf.zeros(shape)));
      }
    }
    this.takeSnapshot();
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
      this.takeSnapshot();
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
    x.forEach((xi, r) => { buf.set(xi, r * dIn); buf.set(u[r], r * dIn + this.dX); });
    const out = tf.tidy(() => this.denormTf(this.forwardTf(this.normInTf(tf.tensor2d(buf, [x.length, dIn])))));
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return Float32Array.from(data);
  }

  /** Weights, Adam moments, statistics, dataset and rng (typed arrays inside). */
  getState(): NnDynamicsState {
    const read = (vs: tf.Variable[]) => vs.map((v) => Float32Array.from(v.dataSync()));
    const dIn = this.dX + this.dU;
    return {
      kind: 'nn', sizes: this.sizes.slice(), fitted: this.fitted, t: this.t,
      params: read(this.params), m: read(this.m), v: read(this.v),
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
    const put = (vs: tf.Variable[], data: Float32Array[]) => vs.forEach((v, i) => {
      if (data[i].length !== v.size) throw new RangeError(`NnDynamics.setState: tensor ${i} has ${data[i].length} values, expected ${v.size}`);
      v.assign(tf.tensor(data[i], v.shape));
    });
    tf.tidy(() => { put(this.params, st.params); put(this.m, st.m); put(this.v, st.v); });
    for (const [dst, src] of [[this.inStats, st.inStats], [this.outStats, st.outStats]] as const) {
      dst.n = src.n; dst.mean.set(src.mean); dst.m2.set(src.m2);
    }
    this.t = st.t; this.fitted = st.fitted; this.size = st.size; this.head = st.head % this.o.capacity;
    this.residualStd.set(st.residualStd);
    this.inputs.set(st.inputs); this.targets.set(st.targets);
    this.rng = new Rng(0, st.rng);
    this.takeSnapshot();
  }

  /** Frees the tfjs variables. */
  dispose(): void {
    for (const v of [...this.params, ...this.m, ...this.v]) v.dispose();
    this.params = []; this.m = []; this.v = [];
  }

  private trainStep(B: number): void {
    const { dX, dU } = this, dIn = dX + dU;
    const xb = new Float32Array(B * dIn), yb = new Float32Array(B * dX);
    for (let r = 0; r < B; r++) {
      const j = this.rng.int(this.size);
      xb.set(this.inputs.subarray(j * dIn, (j + 1) * dIn), r * dIn);
      yb.set(this.targets.subarray(j * dX, (j + 1) * dX), r * dX);
    }
    this.t++;
    tf.tidy(() => {
      const inp = this.normInTf(tf.tensor2d(xb, [B, dIn]));
      const tgt = tf.div(tf.sub(tf.tensor2d(yb, [B, dX]), tf.tensor1d(Float32Array.from(this.outStats.mean))), tf.tensor1d(Float32Array.from(this.outStats.std())));
      const f = (...ws: tf.Tensor[]) => tf.losses.meanSquaredError(tgt, this.forwardTf(inp, ws)) as tf.Scalar;
      const { value, grads } = tf.valueAndGrads(f)(this.params);
      const up = adamUpdate({ params: this.params, grads, m: this.m, v: this.v, t: this.t, lr: this.o.learningRate, clipNorm: this.o.clipNorm, cfg: ADAM_DEFAULTS });
      if (!Number.isFinite(value.dataSync()[0])) return; // divergence guard: skip a non-finite step
      this.params.forEach((p, i) => p.assign(up.params[i]));
      this.m.forEach((p, i) => p.assign(up.m[i]));
      this.v.forEach((p, i) => p.assign(up.v[i]));
    });
  }

  private forwardTf(h: tf.Tensor, ws: tf.Tensor[] = this.params): tf.Tensor {
    const L = ws.length / 2;
    for (let l = 0; l < L; l++) {
      h = tf.add(tf.matMul(h as tf.Tensor2D, ws[2 * l] as tf.Tensor2D), ws[2 * l + 1]);
      if (l + 1 < L) h = tf.relu(h);
    }
    return h;
  }

  private normInTf(z: tf.Tensor): tf.Tensor {
    return tf.div(tf.sub(z, tf.tensor1d(Float32Array.from(this.inStats.mean))), tf.tensor1d(Float32Array.from(this.inStats.std())));
  }

  private denormTf(y: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(y, tf.tensor1d(Float32Array.from(this.outStats.std()))), tf.tensor1d(Float32Array.from(this.outStats.mean)));
  }

  private takeSnapshot(): void {
    this.snapshot = this.params.map((p) => Float32Array.from(p.dataSync()));
  }

  /** Plain-JS forward pass from the weight snapshot: de-normalised g(x, u) [dX]. */
  private predictDelta(x: Float64Array, u: Float64Array): Float64Array {
    const inMean = this.inStats.mean, inStd = this.inStats.std();
    let h = new Float64Array(this.sizes[0]);
    for (let i = 0; i < this.dX; i++) h[i] = (x[i] - inMean[i]) / inStd[i];
    for (let i = 0; i < this.dU; i++) h[this.dX + i] = (u[i] - inMean[this.dX + i]) / inStd[this.dX + i];
    const L = this.sizes.length - 1;
    for (let l = 0; l < L; l++) {
      const W = this.snapshot[2 * l], b = this.snapshot[2 * l + 1], nIn = this.sizes[l], nOut = this.sizes[l + 1];
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
