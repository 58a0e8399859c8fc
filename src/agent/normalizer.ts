/**
 * Running observation normalisation (optional): x_n = clip((x - mean) / sqrt(var + eps),
 * ±clip), with mean and variance over every minibatch row the learner has trained on so far
 * (Welford / Chan et al. parallel update). The statistics are updated once per update from its
 * minibatch's x, then frozen for that update: x and x' (the target's input) are normalised with
 * the same values. Both agents use it at their network inputs; the plain-JS actor gets the
 * statistics with each policy snapshot (`PolicySnapshot.meta.obsNorm`).
 *
 * eps = 1e-8 and clip = 10 are Stable-Baselines3's `VecNormalize` defaults.
 */
export const OBS_NORM_EPS = 1e-8;
export const OBS_NORM_CLIP = 10;

/** Statistics a policy snapshot carries: x_n = clip((x - mean) / std, ±clip). */
export interface ObsNormStats {
  mean: Float32Array;
  std: Float32Array;
  clip: number;
}

export class RunningNorm {
  count = 0;
  readonly mean: Float64Array;
  /** sum of squared deviations */
  private m2: Float64Array;

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds N rows of x [N*dim] (row-major). */
  update(x: Float32Array, N: number): void {
    const d = this.dim;
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += x[i * d + j];
      const bMean = s / N;
      let bM2 = 0;
      for (let i = 0; i < N; i++) bM2 += (x[i * d + j] - bMean) ** 2;
      const n = this.count + N;
      const delta = bMean - this.mean[j];
      this.mean[j] += (delta * N) / n;
      this.m2[j] += bM2 + (delta * delta * this.count * N) / n;
    }
    this.count += N;
  }

  /** Population variance per dimension [dim] (1 before any data, so the first inputs pass through). */
  variance(): Float64Array {
    return this.count > 0 ? this.m2.map((m) => m / this.count) : new Float64Array(this.dim).fill(1);
  }

  /** The frozen statistics for a snapshot or an update. */
  stats(): ObsNormStats {
    const v = this.variance();
    return { mean: Float32Array.from(this.mean), std: Float32Array.from(v, (s) => Math.sqrt(s + OBS_NORM_EPS)), clip: OBS_NORM_CLIP };
  }

  /** Restores count, mean and variance. @throws Error on a wrong size or a non-finite value. */
  set(count: number, mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    if (mean.length !== this.dim || variance.length !== this.dim) throw new Error(`RunningNorm.set: expected ${this.dim} values, got ${mean.length} and ${variance.length}`);
    if (!(count >= 0) || ![...Array.from(mean), ...Array.from(variance)].every(Number.isFinite)) throw new Error('RunningNorm.set: count, mean and variance must be finite (count >= 0)');
    this.count = count;
    this.mean.set(mean);
    this.m2 = Float64Array.from(variance, (v) => v * count);
  }
}

/** x [N*dim] normalised with `s` into a new array. */
export function normalizeRows(x: ArrayLike<number>, N: number, s: ObsNormStats): Float32Array {
  const d = s.mean.length;
  const out = new Float32Array(N * d);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < d; j++) {
      const v = (x[i * d + j] - s.mean[j]) / s.std[j];
      out[i * d + j] = v > s.clip ? s.clip : v < -s.clip ? -s.clip : v;
    }
  }
  return out;
}
