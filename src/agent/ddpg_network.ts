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
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { mlpApply, mlpInit, type BnContext, type Lookup, type MlpSpec } from './dense.js';
import type { TensorInit } from './var_store.js';

export interface DdpgNetConfig {
  dX: number;
  dU: number;
  hidden: number[];
  batchNorm: boolean;
  /** [dU] N·m */
  uMax: Float64Array;
}

export class DdpgNetwork {
  readonly specs: { mu: MlpSpec; Q_x: MlpSpec; Q_xu: MlpSpec };
  private readonly uMax: tf.Tensor1D;

  constructor(readonly cfg: DdpgNetConfig) {
    const { dX, dU, hidden, batchNorm } = cfg;
    this.specs = {
      mu: { prefix: 'mu', sizes: [dX, ...hidden, dU], activateLast: false, batchNorm },
      Q_x: { prefix: 'Q_x', sizes: [dX, hidden[0]], activateLast: true, batchNorm },
      Q_xu: { prefix: 'Q_xu', sizes: [hidden[0] + dU, ...hidden.slice(1), 1], activateLast: false, batchNorm: false },
    };
    this.uMax = tf.keep(tf.tensor1d(Float32Array.from(cfg.uMax)));
  }

  /** Initial actor and critic parameters and batch-norm statistics (DDPG init, `dense.ts`). */
  init(rng: Rng): { actor: { params: TensorInit[]; stats: TensorInit[] }; critic: { params: TensorInit[]; stats: TensorInit[] } } {
    const actor = mlpInit(this.specs.mu, rng);
    const qx = mlpInit(this.specs.Q_x, rng);
    const qxu = mlpInit(this.specs.Q_xu, rng);
    return { actor, critic: { params: [...qx.params, ...qxu.params], stats: [...qx.stats, ...qxu.stats] } };
  }

  /** mu(x) [N, dU] N·m for x [N, dX]. Call inside `tf.tidy`. */
  actor(p: Lookup, x: tf.Tensor2D, bn?: BnContext): tf.Tensor2D {
    return tf.mul(tf.tanh(mlpApply(this.specs.mu, p, x, bn)), this.uMax) as tf.Tensor2D;
  }

  /** Q(x, u) [N] for x [N, dX], u [N, dU] N·m. Call inside `tf.tidy`. */
  critic(p: Lookup, x: tf.Tensor2D, u: tf.Tensor2D, bn?: BnContext): tf.Tensor1D {
    const h = mlpApply(this.specs.Q_x, p, x, bn);
    const q = mlpApply(this.specs.Q_xu, p, tf.concat([h, u], 1), bn);
    return tf.reshape(q, [x.shape[0]]);
  }

  dispose(): void {
    this.uMax.dispose();
  }
}
