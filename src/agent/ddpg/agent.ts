/**
 * DDPG, the paper's baseline (Lillicrap et al. 2016, Algorithm 1; Gu et al. 2016 Sec. 6 compare
 * against it with the same network sizes and updates per step). One `update` = one minibatch:
 *
 *   y_i = r_i + gamma (1 - terminal_i) Q'(x'_i, mu'(x'_i))           target networks, no gradient
 *   critic: minimise 1/B sum_i (y_i - Q(x_i, u_i))^2 (+ L2 weight decay on the critic's W)
 *   actor:  maximise 1/B sum_i Q(x_i, mu(x_i)) under the just-updated critic (sampled policy gradient)
 *   theta^Q' <- tau theta^Q + (1 - tau) theta^Q',  theta^mu' <- tau theta^mu + (1 - tau) theta^mu'
 *
 * Defaults from DDPG Sec. 7: actor lr 1e-4, critic lr 1e-3, tau 1e-3, gamma 0.99; hidden [200, 200]
 * to match NAF's heads; critic weight decay 0 (`DdpgOptions.weightDecay` says why not the paper's
 * 1e-2). Weight decay, when set, is added to the gradient of every critic weight matrix (not
 * biases or batch-norm scales), i.e. the loss gets wd/2 ||W||^2. Actions are normalised to
 * [-1, 1] inside the networks by default (`LearnerBase`). Both networks step
 * together under the divergence guard (`LearnerBase`); the backward passes are explicit, as NAF's
 * (`nn/mlp.ts`): dQ/du for the actor's gradient comes from the critic's input gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.js';
import { BN_EPS, mlpSnapshot, type LayerCache } from '../../nn/mlp.js';
import { downloadInto, featureMajor, lookup, transpose2d, uploadTensors } from '../../nn/tensors.js';
import { checkInputs, validateCommon, withDefaults, type AgentOptions } from '../agent_options.js';
import { LearnerBase } from '../learner_base.js';
import type { PolicySnapshot, QAgent, TransitionBatch, UpdateStats } from '../types.js';
import { DdpgNetwork, type CriticCache } from './network.js';

/** The common `AgentOptions` plus DDPG's own; `hidden` sizes actor and critic (the action enters the critic at hidden layer 2). */
export interface DdpgOptions extends AgentOptions {
  /** Adam learning rate of the actor; default 1e-4 */
  actorLr?: number;
  /** Adam learning rate of the critic; default 1e-3 */
  criticLr?: number;
  /**
   * L2 weight decay of the critic's weight matrices; default 0. DDPG's paper used 1e-2 with its
   * reward scales; here TD errors are ~1e-3, so a decay of 1e-2 dominates the critic's gradient and
   * the actor follows a wrong critic to the torque bounds (an ablation: decay 0 alone took seed 1
   * from -14.9 to -5.3 greedy return by episode 20). Exposed as `agent.critic_weight_decay`.
   */
  weightDecay?: number;
}

const ACTOR = ['mu/'];
const CRITIC = ['Q_x/', 'Q_xu/'];

export class DdpgAgent extends LearnerBase implements QAgent {
  declare readonly kind: 'ddpg';
  readonly net: DdpgNetwork;
  /** [dU] N·m, the torque bound */
  private readonly uMax: Float64Array;
  /** [dU] the actor's bound in network units (uMax / actionScale: ones when actions are normalised) */
  private readonly bound: Float64Array;
  private readonly weightDecay: number;
  private readonly actorRange: [number, number];
  private readonly criticRange: [number, number];
  /** the critic's weight matrices (weight decay applies to them) */
  private readonly criticW: [number, number][];
  private readonly transposed: string[];

  /** @throws Error naming the first invalid option. */
  constructor(options: DdpgOptions) {
    const o = withDefaults(
      { hidden: [200, 200], batchNorm: false, actorLr: 1e-4, criticLr: 1e-3, weightDecay: 0, gamma: 0.99, tau: 0.001, gradClipNorm: 10, seed: 0 },
      options,
    );
    validateCommon('DdpgAgent', { ...o, lr: o.criticLr });
    if (!(o.actorLr > 0 && Number.isFinite(o.actorLr))) throw new Error(`DdpgAgent: actorLr must be finite and > 0, got ${o.actorLr}`);
    if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw new Error(`DdpgAgent: weightDecay must be finite and >= 0, got ${o.weightDecay}`);
    const net = new DdpgNetwork({ dX: o.dX, dU: o.dU, hidden: o.hidden, batchNorm: o.batchNorm });
    const { actor, critic } = net.init(new Rng(`ddpg-init:${o.seed}`));
    super('ddpg', o.dX, o.dU, { actor_lr: o.actorLr, critic_lr: o.criticLr }, options.divergence?.lrDecay ?? 0.5, o, {
      params: [...actor.params, ...critic.params],
      stats: [...actor.stats, ...critic.stats],
      targetPrefixes: [...ACTOR, ...CRITIC],
    });
    this.net = net;
    this.uMax = Float64Array.from(o.uMax);
    this.bound = this.networkBound(this.uMax);
    this.weightDecay = o.weightDecay;
    this.actorRange = this.layout.range(ACTOR);
    this.criticRange = this.layout.range(CRITIC);
    this.criticW = this.layout.entries.filter((e) => e.name.startsWith('Q_') && e.name.endsWith('/W')).map((e) => [e.offset, e.offset + e.size] as [number, number]);
    this.transposed = net.transposed();
  }

  /** Current learning rates (both decay by `lrDecay` at each divergence-guard rollback). */
  get learningRates(): { actor: number; critic: number } {
    return { actor: this.lrs.actor_lr, critic: this.lrs.critic_lr };
  }

  /**
   * One guarded minibatch step of critic and actor (module docstring); skips and rollbacks as in
   * `NafAgent.update`. `loss` is the critic's Bellman error, `qMean` the mean Q(x, u).
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  update(input: TransitionBatch): UpdateStats {
    return this.guardedUpdate(input, (t) => {
      const batch = this.networkBatch(input);
      const { B } = batch;
      const { dX, dU } = this;
      const cur = this.state.current;
      const withBn = this.statLayout.size > 0;
      let loss = NaN;
      let qMean = NaN;
      // Critic step: y = r + gamma (1 - terminal) Q'(x', mu'(x')).
      tf.tidy(() => {
        const p = lookup(uploadTensors(this.layout, cur.theta, this.transposed, CRITIC), 'DdpgAgent');
        const target = lookup(uploadTensors(this.targetLayout, cur.target, this.transposed), 'DdpgAgent target');
        const x2 = featureMajor(batch.x2, B, dX);
        const zNext = this.net.actor(target, x2, { mode: 'batch' }).dataSync();
        const Qnext = this.net.critic(target, x2, this.squashT(zNext, B), { mode: 'batch' }).dataSync();
        const collect = new Map<string, tf.Tensor>();
        const cache: CriticCache = { Q_x: [], Q_xu: [] };
        const q = this.net.critic(p, featureMajor(batch.x, B, dX), featureMajor(batch.u, B, dU), { mode: 'batch', collect }, cache).dataSync();
        const dQ = new Float32Array(B);
        let l = 0;
        let qs = 0;
        for (let i = 0; i < B; i++) {
          const y = batch.r[i] + this.gamma * (1 - batch.terminal[i]) * Qnext[i];
          l += (q[i] - y) ** 2;
          qs += q[i];
          dQ[i] = (2 * (q[i] - y)) / B;
        }
        loss = l / B;
        qMean = qs / B;
        const grads = new Map<string, tf.Tensor>();
        this.net.criticBackward(p, cache, tf.tensor2d(dQ, [1, B]), grads, true);
        downloadInto(this.layout, this.grad, grads, CRITIC);
        if (withBn) downloadInto(this.statLayout, this.batchStats, collect, ['Q_x/']);
      });
      if (!Number.isFinite(loss) || !this.optimize(this.criticRange, t, this.lrs.critic_lr, { wd: this.weightDecay, ranges: this.criticW })) {
        return { loss, qMean, ok: false };
      }
      // Actor step through the updated critic: maximise 1/B sum_i Q(x_i, mu(x_i)).
      tf.tidy(() => {
        const p = lookup(uploadTensors(this.layout, cur.theta, this.transposed, ACTOR), 'DdpgAgent actor'); // not yet stepped
        const critic = lookup(uploadTensors(this.layout, cur.theta, this.transposed, CRITIC), 'DdpgAgent updated critic'); // updated in place above
        const x = featureMajor(batch.x, B, dX);
        const collect = new Map<string, tf.Tensor>();
        const actorCache: LayerCache[] = [];
        const zT = this.net.actor(p, x, { mode: 'batch', collect }, actorCache).dataSync(); // [dU, B]
        const cache: CriticCache = { Q_x: [], Q_xu: [] };
        this.net.critic(critic, x, this.squashT(zT, B), { mode: 'batch' }, cache);
        const duT = this.net.criticBackward(critic, cache, tf.fill([1, B], -1 / B) as tf.Tensor2D, new Map(), false).dataSync();
        const dzT = new Float32Array(B * dU);
        for (let i = 0; i < B * dU; i++) {
          const th = Math.tanh(zT[i]);
          dzT[i] = duT[i] * this.bound[Math.floor(i / B)] * (1 - th * th);
        }
        const grads = new Map<string, tf.Tensor>();
        this.net.actorBackward(p, actorCache, tf.tensor2d(dzT, [dU, B]), grads);
        downloadInto(this.layout, this.grad, grads, ACTOR);
        if (withBn) downloadInto(this.statLayout, this.batchStats, collect, ACTOR);
      });
      return { loss, qMean, ok: this.optimize(this.actorRange, t, this.lrs.actor_lr) };
    });
  }

  /**
   * Greedy actions mu(x): x [N*dX] -> [N*dU] N·m (batch norm in inference mode).
   * @throws Error when x is not a Float32Array of N*dX values.
   */
  actBatch(x: Float32Array, N: number): Float32Array {
    checkInputs('DdpgAgent.actBatch', x, N, this.dX);
    const p = lookup(this.currentTensors(this.transposed), 'DdpgAgent');
    let zT: ArrayLike<number> = [];
    tf.tidy(() => {
      zT = this.net.actor(p, featureMajor(this.networkObs(x, N), N, this.dX), this.inference(p)).dataSync();
    });
    return this.squash(transpose2d(zT, this.dU, N), N);
  }

  /** V(x) = Q(x, mu(x)): x [N*dX] -> [N]. @throws Error when x is not a Float32Array of N*dX values. */
  valueBatch(x: Float32Array, N: number): Float32Array {
    return this.qValues(x, this.actBatch(x, N), N);
  }

  /** Critic Q(x, u): x [N*dX], u [N*dU] N·m -> [N] (exposed for tests and diagnostics). */
  qValues(x: Float32Array, u: Float32Array, N: number): Float32Array {
    checkInputs('DdpgAgent.qValues', x, N, this.dX, u, this.dU);
    const p = lookup(this.currentTensors(this.transposed), 'DdpgAgent');
    let q = new Float32Array(0);
    tf.tidy(() => {
      const a = Float32Array.from(u, (v, i) => v / this.actionScale[i % this.dU]);
      q = Float32Array.from(this.net.critic(p, featureMajor(this.networkObs(x, N), N, this.dX), featureMajor(a, N, this.dU), this.inference(p)).dataSync());
    });
    return q;
  }

  /** Snapshot of the actor (head 'mu'; meta as for NAF without L) for `createActor`; `averaged` as NAF's. */
  snapshot(averaged = false): PolicySnapshot {
    const s = mlpSnapshot(this.net.specs.mu, (n) => this.readParam(n, averaged), (n) => this.readStat(n));
    return {
      kind: 'ddpg',
      dX: this.dX,
      dU: this.dU,
      uMax: Float64Array.from(this.uMax),
      version: this.updates,
      heads: { mu: s.layers },
      meta: { architecture: 'separate', activation: 'relu', batchNorm: this.net.cfg.batchNorm, bnEps: BN_EPS, bn: { mu: s.bn }, ...this.unitsMeta() },
    };
  }

  /** mu = uMax ⊙ tanh(z) for z [N*dU] row-major, [N*dU] N·m. */
  private squash(z: ArrayLike<number>, N: number): Float32Array {
    const out = new Float32Array(N * this.dU);
    for (let i = 0; i < out.length; i++) out[i] = this.uMax[i % this.dU] * Math.tanh(z[i]);
    return out;
  }

  /** The actor's action a^T [dU, N] in network units as a tensor, from z^T [dU*N] feature-major. Call inside `tf.tidy`. */
  private squashT(zT: ArrayLike<number>, N: number): tf.Tensor2D {
    const out = new Float32Array(N * this.dU);
    for (let i = 0; i < out.length; i++) out[i] = this.bound[Math.floor(i / N)] * Math.tanh(zT[i]);
    return tf.tensor2d(out, [this.dU, N]);
  }

  private inference(stats: (n: string) => tf.Tensor) {
    return { mode: 'running' as const, stats };
  }

  /** The greedy policy: the averaged weights when policy averaging has started, else the online ones. */
  greedySnapshot(): PolicySnapshot {
    return this.snapshot(this.averaging);
  }
}
