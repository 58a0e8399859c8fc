/**
 * The policy without tfjs: a plain-JS (Float64) forward pass of mu(x) — and of L(x) for NAF — from
 * a `PolicySnapshot`, for the control loop (possibly a worker thread that never loads tfjs).
 * A 2x200 network takes ~30 us here, ~4x less than one tfjs-wasm call (DESIGN.md Sec. 8).
 *
 * Snapshot layout (written by `NafAgent.snapshot` / `DdpgAgent.snapshot`):
 *  - heads: 'mu' and, for NAF, 'L' as dense layers (W [in*out] row-major with inputs as rows,
 *    b [out]); with meta.architecture 'shared' a 'trunk' MLP (all layers ReLU) feeds both heads.
 *  - hidden layers are ReLU (meta.activation 'relu'), the last layer of a head is linear;
 *    mu(x) = uMax * tanh(z); L's outputs l_k fill the lower triangle row by row,
 *    k = i(i+1)/2 + j, with the diagonal exp(clamp(l_k, meta.lDiag)) (paper Sec. 4; the same
 *    functions as the learner's, `naf/heads.ts`).
 *  - meta.batchNorm: when true, meta.bn[head][layer] = { gamma, beta, mean, variance } for each
 *    activated layer (null otherwise), applied as inference-mode batch norm with meta.bnEps.
 *  - meta.obsNorm (optional): x is normalised as the learner's networks see it,
 *    clip((x - mean) / std, ±clip) (`normalizer.ts`); meta.actionScale [dU]: the networks'
 *    actions are u / actionScale, so L is returned in torque units with its rows divided by it
 *    (mu = uMax tanh(z) is in N·m either way).
 * Buffers are allocated once per actor; each call allocates only its returned array.
 */
import { lCount, lowerInto, muFromZ, type NafHeadConfig } from './naf/heads.js';
import type { ObsNormStats } from './normalizer.js';
import type { DenseWeights, PolicyActor, PolicySnapshot } from './types.js';

interface BnStats {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** One MLP with preallocated activations. */
class JsMlp {
  private readonly out: Float64Array[];
  /** per layer: folded batch norm y = a z + c, or null */
  private readonly bn: ({ a: Float64Array; c: Float64Array } | null)[];

  constructor(
    private readonly layers: DenseWeights[],
    bn: (BnStats | null)[] | undefined,
    eps: number,
    private readonly activateLast: boolean,
  ) {
    this.out = layers.map((l) => new Float64Array(l.outSize));
    this.bn = layers.map((l, i) => {
      const s = bn?.[i];
      if (!s) return null;
      const a = new Float64Array(l.outSize);
      const c = new Float64Array(l.outSize);
      for (let j = 0; j < l.outSize; j++) {
        a[j] = s.gamma[j] / Math.sqrt(s.variance[j] + eps);
        c[j] = s.beta[j] - s.mean[j] * a[j];
      }
      return { a, c };
    });
  }

  /** Forward pass; the result is an internal buffer valid until the next call. */
  forward(x: ArrayLike<number>): Float64Array {
    let h: ArrayLike<number> = x;
    const n = this.layers.length;
    for (let l = 0; l < n; l++) {
      const { W, b, inSize, outSize } = this.layers[l];
      const o = this.out[l];
      for (let j = 0; j < outSize; j++) o[j] = b[j];
      for (let i = 0; i < inSize; i++) {
        const hi = h[i];
        if (hi === 0) continue;
        const row = i * outSize;
        for (let j = 0; j < outSize; j++) o[j] += hi * W[row + j];
      }
      if (l < n - 1 || this.activateLast) {
        const bn = this.bn[l];
        for (let j = 0; j < outSize; j++) {
          const z = bn ? bn.a[j] * o[j] + bn.c[j] : o[j];
          o[j] = z > 0 ? z : 0;
        }
      }
      h = o;
    }
    return h as Float64Array;
  }
}

/**
 * Builds the plain-JS actor of a snapshot.
 * @throws Error naming the inconsistency (unknown kind, missing head, layer sizes that do not
 *   chain, wrong output size, missing batch-norm statistics).
 */
export function createActor(snapshot: PolicySnapshot): PolicyActor {
  const s = snapshot;
  if (s?.kind !== 'naf' && s?.kind !== 'ddpg') throw new Error(`createActor: kind must be 'naf' or 'ddpg', got ${String(s?.kind)}`);
  const { dX, dU } = s;
  if (!(s.uMax instanceof Float64Array) || s.uMax.length !== dU) throw new Error(`createActor: uMax must be a Float64Array of dU=${dU}`);
  const meta = s.meta ?? {};
  if ((meta.activation ?? 'relu') !== 'relu') throw new Error(`createActor: only relu hidden layers are supported, got ${String(meta.activation)}`);
  const shared = meta.architecture === 'shared';
  const batchNorm = meta.batchNorm === true;
  const bnAll = (meta.bn ?? {}) as Record<string, (BnStats | null)[]>;
  const eps = typeof meta.bnEps === 'number' ? meta.bnEps : 0;

  const build = (head: string, inSize: number, outSize: number | null, activateLast: boolean): JsMlp => {
    const layers = s.heads[head];
    if (!Array.isArray(layers) || layers.length === 0) throw new Error(`createActor: snapshot has no '${head}' head`);
    let n = inSize;
    layers.forEach((l, i) => {
      if (l.inSize !== n) throw new Error(`createActor: ${head} layer ${i} takes ${l.inSize} inputs, previous gives ${n}`);
      if (l.W?.length !== l.inSize * l.outSize || l.b?.length !== l.outSize) {
        throw new Error(`createActor: ${head} layer ${i} needs W of ${l.inSize * l.outSize} and b of ${l.outSize} values`);
      }
      n = l.outSize;
      const activated = i < layers.length - 1 || activateLast;
      const st = bnAll[head]?.[i];
      if (batchNorm && activated && !(st && st.gamma?.length === n && st.beta?.length === n && st.mean?.length === n && st.variance?.length === n)) {
        throw new Error(`createActor: ${head} layer ${i} lacks batch-norm statistics of size ${n}`);
      }
    });
    if (outSize !== null && n !== outSize) throw new Error(`createActor: ${head} head outputs ${n} values, expected ${outSize}`);
    return new JsMlp(layers, batchNorm ? bnAll[head] : undefined, eps, activateLast);
  };

  const trunk = shared ? build('trunk', dX, null, true) : null;
  const featSize = trunk ? s.heads.trunk[s.heads.trunk.length - 1].outSize : dX;
  const muNet = build('mu', featSize, dU, false);
  const obsNorm = meta.obsNorm as ObsNormStats | undefined;
  if (obsNorm && !(obsNorm.mean?.length === dX && obsNorm.std?.length === dX && obsNorm.clip > 0)) throw new Error(`createActor: meta.obsNorm needs mean and std of dX=${dX} values and a clip > 0`);
  const xn = new Float64Array(dX);
  const features = (x: Float64Array): ArrayLike<number> => {
    if (x?.length !== dX) throw new Error(`actor: x must have dX=${dX} values, got ${x?.length}`);
    let input: ArrayLike<number> = x;
    if (obsNorm) {
      for (let j = 0; j < dX; j++) xn[j] = Math.min(obsNorm.clip, Math.max(-obsNorm.clip, (x[j] - obsNorm.mean[j]) / obsNorm.std[j]));
      input = xn;
    }
    return trunk ? trunk.forward(input) : input;
  };

  const lDiag = (meta.lDiag ?? [-Infinity, Infinity]) as [number, number];
  const heads: NafHeadConfig = { dU, uMax: s.uMax, lDiag };
  // The networks' action units: a = u / actionScale (absent from snapshots of networks that predate
  // action normalisation: N·m, scale 1).
  const actionScale = (meta.actionScale as number[] | undefined) ?? new Array(dU).fill(1);
  if (actionScale.length !== dU || !actionScale.every((v) => v > 0)) throw new Error(`createActor: meta.actionScale needs dU=${dU} values > 0`);
  /** Greedy action mu(x) = uMax * tanh(z_mu(x)), [dU] N·m. NaN in x propagates to the output. */
  const mu = (x: Float64Array): Float64Array => muFromZ(heads, muNet.forward(features(x)), 1);
  if (s.kind === 'ddpg') return { snapshot, mu };

  if (!Array.isArray(meta.lDiag) || !(lDiag[0] < lDiag[1])) throw new Error('createActor: NAF snapshot needs meta.lDiag = [lo, hi]');
  const LNet = build('L', featSize, lCount(dU), false);
  /** L(x) row-major [dU*dU] in torque units (the network's L, rows / actionScale); P(x) = L L^T. */
  const choleskyP = (x: Float64Array): Float64Array => {
    const out = new Float64Array(dU * dU);
    lowerInto(heads, LNet.forward(features(x)), 0, out, 0);
    for (let i = 0; i < dU * dU; i++) out[i] /= actionScale[Math.floor(i / dU)];
    return out;
  };
  return { snapshot, mu, choleskyP };
}
