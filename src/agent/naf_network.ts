/**
 * The normalized advantage function network (Gu et al. 2016, Sec. 4, eq. for Q, A and P):
 *
 *   Q(x, u) = A(x, u) + V(x),   A(x, u) = -1/2 (u - mu(x))^T P(x) (u - mu(x)),   P(x) = L(x) L(x)^T
 *
 * Heads, each computed from x only (the L network never sees u, so argmax_u Q = mu(x) exactly):
 *  - V(x): scalar;
 *  - mu(x) = uMax * tanh(z_mu(x)): the greedy torque, N·m, inside the bounds;
 *  - L(x): lower-triangular dU x dU from dU(dU+1)/2 linear outputs l_k, entry (i, j) with j <= i
 *    taken from k = i(i+1)/2 + j (row-major lower triangle); the diagonal is exp(clamp(l_k, lo, hi))
 *    (paper: "diagonal terms exponentiated"; the clamp prevents the exp overflow behind the NaNs of
 *    public NAF code, DESIGN.md Sec. 8).
 *
 * Architectures: 'separate' (paper Sec. 6: two 200-unit ReLU layers *per* output) or 'shared'
 * (one ReLU trunk, three linear heads). Parameter names: `<head>/<layer>/{W,b,gamma,beta}` with
 * head in V, mu, L, trunk (see `dense.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { mlpApply, mlpInit, type BnContext, type Lookup, type MlpSpec } from './dense.js';
import type { TensorInit } from './var_store.js';

export type NafHead = 'V' | 'mu' | 'L';

export interface NafNetConfig {
  dX: number;
  dU: number;
  hidden: number[];
  architecture: 'separate' | 'shared';
  batchNorm: boolean;
  /** [lo, hi] clamp of L's pre-exponent diagonal */
  lDiag: [number, number];
  /** [dU] N·m */
  uMax: Float64Array;
}

/** Index of L entry (i, j), j <= i, among the dU(dU+1)/2 outputs of the L head. */
export function triIndex(i: number, j: number): number {
  return (i * (i + 1)) / 2 + j;
}

/** The MLPs of the network by name ('trunk' only for the shared architecture). */
export function nafSpecs(cfg: NafNetConfig): Record<string, MlpSpec> {
  const { dX, dU, hidden, batchNorm } = cfg;
  const nL = (dU * (dU + 1)) / 2;
  if (cfg.architecture === 'separate') {
    return {
      V: { prefix: 'V', sizes: [dX, ...hidden, 1], activateLast: false, batchNorm },
      mu: { prefix: 'mu', sizes: [dX, ...hidden, dU], activateLast: false, batchNorm },
      L: { prefix: 'L', sizes: [dX, ...hidden, nL], activateLast: false, batchNorm },
    };
  }
  const h = hidden[hidden.length - 1];
  return {
    trunk: { prefix: 'trunk', sizes: [dX, ...hidden], activateLast: true, batchNorm },
    V: { prefix: 'V', sizes: [h, 1], activateLast: false, batchNorm: false },
    mu: { prefix: 'mu', sizes: [h, dU], activateLast: false, batchNorm: false },
    L: { prefix: 'L', sizes: [h, nL], activateLast: false, batchNorm: false },
  };
}

/**
 * Holds the network's constant tensors (uMax, the triangular selection matrix) and computes heads
 * from any parameter set (online, target, or proposed values inside an update).
 */
export class NafNetwork {
  readonly specs: Record<string, MlpSpec>;
  readonly nL: number;
  private readonly uMax: tf.Tensor1D;
  /** [nL, dU*dU] 0/1 matrix placing output k at its (i, j) slot */
  private readonly select: tf.Tensor2D;
  /** [nL] 1 at diagonal outputs, 0 elsewhere */
  private readonly diagMask: tf.Tensor1D;
  private readonly offMask: tf.Tensor1D;

  constructor(readonly cfg: NafNetConfig) {
    const { dU } = cfg;
    this.specs = nafSpecs(cfg);
    this.nL = (dU * (dU + 1)) / 2;
    const S = new Float32Array(this.nL * dU * dU);
    const diag = new Float32Array(this.nL);
    for (let i = 0; i < dU; i++) {
      for (let j = 0; j <= i; j++) S[triIndex(i, j) * dU * dU + i * dU + j] = 1;
      diag[triIndex(i, i)] = 1;
    }
    this.uMax = tf.keep(tf.tensor1d(Float32Array.from(cfg.uMax)));
    this.select = tf.keep(tf.tensor2d(S, [this.nL, dU * dU]));
    this.diagMask = tf.keep(tf.tensor1d(diag));
    this.offMask = tf.keep(tf.tensor1d(diag.map((d) => 1 - d)));
  }

  /** Initial parameters and batch-norm statistics of every MLP (DDPG-style init, `dense.ts`). */
  init(rng: Rng): { params: TensorInit[]; stats: TensorInit[] } {
    const params: TensorInit[] = [];
    const stats: TensorInit[] = [];
    for (const spec of Object.values(this.specs)) {
      const r = mlpInit(spec, rng);
      params.push(...r.params);
      stats.push(...r.stats);
    }
    return { params, stats };
  }

  /** Parameter-name prefixes V(x) depends on: the only part of the target network Q' that is used. */
  valuePrefixes(): string[] {
    return this.cfg.architecture === 'shared' ? ['trunk/', 'V/'] : ['V/'];
  }

  /**
   * Requested heads for x [N, dX]: V [N], mu [N, dU] N·m, L [N, dU, dU]. Call inside `tf.tidy`.
   */
  heads(
    p: Lookup,
    x: tf.Tensor2D,
    which: readonly NafHead[],
    bn?: BnContext,
  ): { V?: tf.Tensor1D; mu?: tf.Tensor2D; L?: tf.Tensor3D } {
    const feat = this.specs.trunk ? mlpApply(this.specs.trunk, p, x, bn) : x;
    const out: { V?: tf.Tensor1D; mu?: tf.Tensor2D; L?: tf.Tensor3D } = {};
    const N = x.shape[0];
    if (which.includes('V')) out.V = tf.reshape(mlpApply(this.specs.V, p, feat, bn), [N]);
    if (which.includes('mu')) out.mu = tf.mul(tf.tanh(mlpApply(this.specs.mu, p, feat, bn)), this.uMax) as tf.Tensor2D;
    if (which.includes('L')) out.L = this.lowerTriangular(mlpApply(this.specs.L, p, feat, bn));
    return out;
  }

  /** L [N, dU, dU] from the L head's linear outputs l [N, nL]; diagonal exp(clamp(l, lo, hi)). */
  lowerTriangular(l: tf.Tensor2D): tf.Tensor3D {
    const [lo, hi] = this.cfg.lDiag;
    const dU = this.cfg.dU;
    const entries = tf.add(tf.mul(l, this.offMask), tf.mul(tf.exp(tf.clipByValue(l, lo, hi)), this.diagMask));
    return tf.reshape(tf.matMul(entries, this.select), [l.shape[0], dU, dU]);
  }

  /**
   * A(x, u) = -1/2 (u - mu)^T L L^T (u - mu) = -1/2 ||L^T (u - mu)||^2, [N]. The second form is
   * the same matrix product P = L L^T (not elementwise) evaluated as a sum of squares, so A <= 0
   * holds exactly in floating point.
   */
  advantage(L: tf.Tensor3D, mu: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor1D {
    const [N, dU] = mu.shape;
    const d = tf.reshape(tf.sub(u, mu), [N, 1, dU]);
    const w = tf.matMul(d, L); // (u - mu)^T L = (L^T (u - mu))^T, [N, 1, dU]
    return tf.mul(tf.sum(tf.square(w), [1, 2]), -0.5);
  }

  /** Frees the constant tensors. */
  dispose(): void {
    for (const t of [this.uMax, this.select, this.diagMask, this.offMask]) t.dispose();
  }
}
