/**
 * DDPG's actor and critic (Lillicrap et al. 2016, Sec. 7 "Experiment details"), sized like NAF's
 * heads for the paper's comparison (Gu et al. 2016, Sec. 6: same network sizes for both):
 *
 *  - actor mu(x) = uMax * tanh(z(x)): ReLU MLP [dX, ...hidden, dU], named `mu/<layer>/...`;
 *  - critic Q(x, u): the first hidden layer sees x only (`Q_x/0`); the action enters at the second
 *    hidden layer, concatenated with it (`Q_xu/...`: [hidden[0] + dU, ...hidden[1:], 1]), "actions
 *    were not included until the 2nd hidden layer of Q" (DDPG Sec. 7).
 *  - batch norm (optional) on every actor hidden layer and on the critic layers before the action
 *    input (DDPG Sec. 7); the layers after the action input are plain.
 * Layout order: actor, then critic (Q_x, Q_xu). Activations are feature-major ([features, N],
 * `nn/mlp.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.js';
import { forwardTransposes, mlpBackward, mlpForward, mlpInit, type BnContext, type LayerCache, type Lookup, type MlpSpec, type TensorInit } from '../../nn/mlp.js';

export interface DdpgNetConfig {
  dX: number;
  dU: number;
  hidden: number[];
  batchNorm: boolean;
}

/** The critic's forward caches (for `criticBackward`). */
export interface CriticCache {
  Q_x: LayerCache[];
  Q_xu: LayerCache[];
}

export class DdpgNetwork {
  readonly specs: { mu: MlpSpec; Q_x: MlpSpec; Q_xu: MlpSpec };

  constructor(readonly cfg: DdpgNetConfig) {
    const { dX, dU, hidden, batchNorm } = cfg;
    this.specs = {
      mu: { prefix: 'mu', sizes: [dX, ...hidden, dU], activateLast: false, batchNorm },
      Q_x: { prefix: 'Q_x', sizes: [dX, hidden[0]], activateLast: true, batchNorm },
      Q_xu: { prefix: 'Q_xu', sizes: [hidden[0] + dU, ...hidden.slice(1), 1], activateLast: false, batchNorm: false },
    };
  }

  /** Initial actor and critic parameters and batch-norm statistics (DDPG init, `nn/mlp.ts`). */
  init(rng: Rng): { actor: { params: TensorInit[]; stats: TensorInit[] }; critic: { params: TensorInit[]; stats: TensorInit[] } } {
    const actor = mlpInit(this.specs.mu, rng);
    const qx = mlpInit(this.specs.Q_x, rng);
    const qxu = mlpInit(this.specs.Q_xu, rng);
    return { actor, critic: { params: [...qx.params, ...qxu.params], stats: [...qx.stats, ...qxu.stats] } };
  }

  /** Weight matrices whose transposes the forward passes read (all of them). */
  transposed(): string[] {
    return [...forwardTransposes(this.specs.mu), ...forwardTransposes(this.specs.Q_x), ...forwardTransposes(this.specs.Q_xu)];
  }

  /** Actor pre-activations z^T [dU, N] (mu = uMax tanh z) for xT [dX, N]. Call inside `tf.tidy`. */
  actor(p: Lookup, xT: tf.Tensor2D, bn?: BnContext, cache?: LayerCache[]): tf.Tensor2D {
    return mlpForward(this.specs.mu, p, xT, bn, cache);
  }

  /** Q^T [1, N] for xT [dX, N], uT [dU, N] N·m. Call inside `tf.tidy`. */
  critic(p: Lookup, xT: tf.Tensor2D, uT: tf.Tensor2D, bn?: BnContext, cache?: CriticCache): tf.Tensor2D {
    const h = mlpForward(this.specs.Q_x, p, xT, bn, cache?.Q_x);
    return mlpForward(this.specs.Q_xu, p, tf.concat([h, uT], 0), bn, cache?.Q_xu);
  }

  /**
   * Critic backward from dL/dQ^T [1, N]: with `paramGrads`, every critic gradient into `grads`;
   * returns dL/du^T [dU, N] (the action rows of the Q_xu input gradient). Call inside `tf.tidy`.
   */
  criticBackward(p: Lookup, cache: CriticCache, dQ: tf.Tensor2D, grads: Map<string, tf.Tensor>, paramGrads: boolean): tf.Tensor2D {
    const h0 = this.cfg.hidden[0];
    const dIn = mlpBackward(this.specs.Q_xu, p, cache.Q_xu, dQ, grads, { inputGrad: true, paramGrads })!;
    const [dh, du] = tf.split(dIn, [h0, this.cfg.dU], 0) as [tf.Tensor2D, tf.Tensor2D];
    if (paramGrads) mlpBackward(this.specs.Q_x, p, cache.Q_x, dh, grads, { inputGrad: false });
    return du;
  }

  /** Actor backward from dL/dz^T [dU, N]: every actor gradient into `grads`. Call inside `tf.tidy`. */
  actorBackward(p: Lookup, cache: LayerCache[], dz: tf.Tensor2D, grads: Map<string, tf.Tensor>): void {
    mlpBackward(this.specs.mu, p, cache, dz, grads, { inputGrad: false });
  }
}
