/**
 * The MLPs of the NAF network (Gu et al. 2016, Sec. 4 and 6) and their tfjs forward/backward
 * passes. Each head is computed from x only; what the heads mean (mu = uMax tanh z, L, P, A, Q)
 * is in `heads.ts`.
 *
 * Architectures: 'separate' (paper Sec. 6: two 200-unit ReLU layers *per* output) or 'shared'
 * (one ReLU trunk, three linear heads). Parameter names `<head>/<layer>/{W,b,gamma,beta}` with head
 * in V, mu, L, trunk. Layout order: (trunk,) V, mu, L — the weights V(x) depends on come first, so
 * the target network (which only ever evaluates V', Algorithm 1) is a prefix of the parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.js';
import { forwardTransposes, mlpBackward, mlpForward, mlpInit, type BnContext, type LayerCache, type Lookup, type MlpSpec, type TensorInit } from '../../nn/mlp.js';
import { lCount } from './heads.js';

export type NafHead = 'V' | 'mu' | 'L';

export interface NafNetConfig {
  dX: number;
  dU: number;
  hidden: number[];
  architecture: 'separate' | 'shared';
  batchNorm: boolean;
}

/** Raw head outputs, feature-major: V [1, N], z (mu's pre-tanh) [dU, N], l (L's entries) [nL, N]. */
export interface NafOutputs {
  V?: tf.Tensor2D;
  mu?: tf.Tensor2D;
  L?: tf.Tensor2D;
}

/** Forward caches of one pass, per MLP name. */
export type NafCaches = Record<string, LayerCache[]>;

/** The MLPs of the network by name ('trunk' only for the shared architecture), in layout order. */
export function nafSpecs(cfg: NafNetConfig): Record<string, MlpSpec> {
  const { dX, dU, hidden, batchNorm } = cfg;
  const nL = lCount(dU);
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

export class NafNetwork {
  readonly specs: Record<string, MlpSpec>;

  constructor(readonly cfg: NafNetConfig) {
    this.specs = nafSpecs(cfg);
  }

  /** Initial parameters and batch-norm statistics of every MLP, in layout order (DDPG init). */
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

  /** Weight matrices whose transpose `forward` reads (all of them; `nn/mlp.ts`). */
  transposed(): string[] {
    return Object.values(this.specs).flatMap(forwardTransposes);
  }

  /**
   * Raw outputs of the requested heads for xT [dX, N] (feature-major, `nn/mlp.ts`). With `caches`,
   * every MLP's forward pass is recorded for `backward`. Call inside `tf.tidy`.
   */
  forward(p: Lookup, x: tf.Tensor2D, which: readonly NafHead[], bn?: BnContext, caches?: NafCaches): NafOutputs {
    const cacheOf = (name: string) => (caches ? (caches[name] = []) : undefined);
    const feat = this.specs.trunk ? mlpForward(this.specs.trunk, p, x, bn, cacheOf('trunk')) : x;
    const out: NafOutputs = {};
    for (const head of which) out[head] = mlpForward(this.specs[head], p, feat, bn, cacheOf(head));
    return out;
  }

  /**
   * Gradients of the parameters of `heads` (default all three) into `grads`, given dL/d(raw output)
   * of those heads of a cached forward pass, feature-major (dV [1, N], dmu = dL/dz [dU, N],
   * dL = dL/dl [nL, N]). Call inside `tf.tidy`.
   * @throws Error when a shared trunk is asked for fewer than all three heads
   */
  backward(p: Lookup, caches: NafCaches, d: NafOutputs, grads: Map<string, tf.Tensor>, heads: readonly NafHead[] = ['V', 'mu', 'L']): void {
    const shared = this.specs.trunk !== undefined;
    if (shared && heads.length !== 3) throw new Error('NafNetwork.backward: the shared trunk needs all three heads');
    const dFeat: tf.Tensor2D[] = [];
    for (const head of heads) {
      const dIn = mlpBackward(this.specs[head], p, caches[head], d[head]!, grads, { inputGrad: shared });
      if (dIn) dFeat.push(dIn);
    }
    if (shared) mlpBackward(this.specs.trunk, p, caches.trunk, tf.addN(dFeat) as tf.Tensor2D, grads, { inputGrad: false });
  }
}
