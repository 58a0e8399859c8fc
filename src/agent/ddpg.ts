/**
 * DDPG, the paper's baseline (Lillicrap et al. 2016, Algorithm 1; Gu et al. 2016 Sec. 6 compare
 * against it with the same network sizes and updates per step). One `update` = one minibatch:
 *
 *   y_i = r_i + gamma (1 - terminal_i) Q'(x'_i, mu'(x'_i))           target networks, no gradient
 *   critic: minimise 1/B sum_i (y_i - Q(x_i, u_i))^2 (+ L2 weight decay on the critic's W)
 *   actor:  maximise 1/B sum_i Q(x_i, mu(x_i)) under the just-updated critic (sampled policy gradient)
 *   theta^Q' <- tau theta^Q + (1 - tau) theta^Q',  theta^mu' <- tau theta^mu + (1 - tau) theta^mu'
 *
 * Defaults from DDPG Sec. 7: actor lr 1e-4, critic lr 1e-3, critic weight decay 1e-2, tau 1e-3,
 * gamma 0.99; hidden [200, 200] to match NAF's heads. Weight decay is added to the gradient of
 * every critic weight matrix (not biases or batch-norm scales), i.e. the loss gets wd/2 ||W||^2.
 * Both networks step together under the divergence guard (`LearnerBase.guardedUpdate`).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { adamUpdate } from './adam.js';
import { checkInputs, validateCommon, withDefaults, type AgentOptions } from './agent_options.js';
import { BN_EPS, BN_MOMENTUM, mlpSnapshot, type Lookup } from './dense.js';
import { DdpgNetwork } from './ddpg_network.js';
import { LearnerBase } from './learner_base.js';
import type { PolicySnapshot, QAgent, TransitionBatch, UpdateStats } from './types.js';

/** The common `AgentOptions` plus DDPG's own; `hidden` sizes actor and critic (the action enters the critic at hidden layer 2). */
export interface DdpgOptions extends AgentOptions {
  /** Adam learning rate of the actor; default 1e-4 */
  actorLr?: number;
  /** Adam learning rate of the critic; default 1e-3 */
  criticLr?: number;
  /** L2 weight decay of the critic's weight matrices; default 1e-2 */
  weightDecay?: number;
}

export class DdpgAgent extends LearnerBase implements QAgent {
  declare readonly kind: 'ddpg';
  readonly net: DdpgNetwork;
  private readonly weightDecay: number;
  private readonly actorNames: string[];
  private readonly criticNames: string[];
  private readonly statNames: string[];

  /** @throws Error naming the first invalid option. */
  constructor(options: DdpgOptions) {
    const o = withDefaults(
      {
        hidden: [200, 200],
        batchNorm: false,
        actorLr: 1e-4,
        criticLr: 1e-3,
        weightDecay: 1e-2,
        gamma: 0.99,
        tau: 0.001,
        gradClipNorm: 10,
        seed: 0,
      },
      options,
    );
    validateCommon('DdpgAgent', { ...o, lr: o.criticLr });
    if (!(o.actorLr > 0 && Number.isFinite(o.actorLr))) throw new Error(`DdpgAgent: actorLr must be finite and > 0, got ${o.actorLr}`);
    if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw new Error(`DdpgAgent: weightDecay must be finite and >= 0, got ${o.weightDecay}`);
    super('ddpg', o.dX, o.dU, { actor_lr: o.actorLr, critic_lr: o.criticLr }, options.divergence?.lrDecay ?? 0.5, o);
    this.weightDecay = o.weightDecay;
    this.net = new DdpgNetwork({ dX: o.dX, dU: o.dU, hidden: o.hidden, batchNorm: o.batchNorm, uMax: o.uMax });
    const { actor, critic } = this.net.init(new Rng(`ddpg-init:${o.seed}`));
    this.actorNames = actor.params.map((p) => p.name);
    this.criticNames = critic.params.map((p) => p.name);
    const stats = [...actor.stats, ...critic.stats];
    this.statNames = stats.map((s) => s.name);
    this.addParams([...actor.params, ...critic.params], stats, [...this.actorNames, ...this.criticNames]);
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
  update(batch: TransitionBatch): UpdateStats {
    const { B } = batch;
    return this.guardedUpdate(batch, (t, kept) => {
      const x = tf.tensor2d(batch.x, [B, this.dX]);
      const u = tf.tensor2d(batch.u, [B, this.dU]);
      const x2 = tf.tensor2d(batch.x2, [B, this.dX]);
      const target = this.store.view('target/');
      const online = this.store.view('online/');
      const Qnext = this.net.critic(target, x2, this.net.actor(target, x2, { mode: 'batch' }), { mode: 'batch' });
      const y = tf.add(tf.tensor1d(batch.r), tf.mul(tf.mul(tf.sub(1, tf.tensor1d(batch.terminal)), this.gamma), Qnext));
      const batchStats = new Map<string, tf.Tensor>();
      const keepStats = () => kept.push(...[...batchStats.values()].filter((s) => !kept.includes(s)).map((s) => tf.keep(s)));

      // critic step
      const criticVars = this.criticNames.map((n) => this.store.get(`online/${n}`));
      let qMean: tf.Tensor | null = null;
      const critic = tf.variableGrads(() => {
        const q = this.net.critic(online, x, u, { mode: 'batch', collect: batchStats });
        qMean = tf.keep(tf.mean(q));
        kept.push(qMean);
        keepStats();
        return tf.mean(tf.squaredDifference(q, y)) as tf.Scalar;
      }, criticVars);
      const cStep = this.step(this.criticNames, criticVars, critic.grads, t, this.lrs.critic_lr, this.weightDecay);

      // actor step through the updated critic
      const newCritic = new Map(this.criticNames.map((n, i) => [n, cStep.params[i]]));
      const criticLookup: Lookup = (n) => newCritic.get(n) ?? online(n);
      const actorVars = this.actorNames.map((n) => this.store.get(`online/${n}`));
      const actor = tf.variableGrads(() => {
        const a = this.net.actor(online, x, { mode: 'batch', collect: batchStats });
        keepStats();
        return tf.neg(tf.mean(this.net.critic(criticLookup, x, a, { mode: 'batch' }))) as tf.Scalar;
      }, actorVars);
      const aStep = this.step(this.actorNames, actorVars, actor.grads, t, this.lrs.actor_lr, 0);

      const proposal = new Map<string, tf.Tensor>([...cStep.proposal, ...aStep.proposal]);
      for (const n of [...this.actorNames, ...this.criticNames]) {
        proposal.set(`target/${n}`, tf.add(tf.mul(proposal.get(`online/${n}`)!, this.tau), tf.mul(target(n), 1 - this.tau)));
      }
      for (const n of this.statNames) {
        const running = this.store.get(`bn/${n}`);
        proposal.set(`bn/${n}`, tf.add(tf.mul(running, BN_MOMENTUM), tf.mul(batchStats.get(n)!, 1 - BN_MOMENTUM)));
      }
      return { proposal, loss: critic.value, qMean: qMean! };
    });
  }

  /** Adam proposal for one network; weight decay on its `/W` matrices when wd > 0. */
  private step(names: string[], vars: tf.Variable[], grads: tf.NamedTensorMap, t: number, lr: number, wd: number) {
    const s = adamUpdate({
      params: vars,
      grads: vars.map((v) => grads[v.name]),
      m: names.map((n) => this.store.get(`adam_m/${n}`)),
      v: names.map((n) => this.store.get(`adam_v/${n}`)),
      t,
      lr,
      clipNorm: this.gradClipNorm,
      cfg: this.adam,
      decay: { wd, apply: names.map((n) => n.endsWith('/W')) },
    });
    const proposal = new Map<string, tf.Tensor>();
    names.forEach((n, i) => proposal.set(`online/${n}`, s.params[i]).set(`adam_m/${n}`, s.m[i]).set(`adam_v/${n}`, s.v[i]));
    return { params: s.params, proposal };
  }

  /**
   * Greedy actions mu(x): x [N*dX] -> [N*dU] N·m (batch norm in inference mode).
   * @throws Error when x is not a Float32Array of N*dX values.
   */
  actBatch(x: Float32Array, N: number): Float32Array {
    checkInputs('DdpgAgent.actBatch', x, N, this.dX);
    return tf.tidy(() => Float32Array.from(this.net.actor(this.store.view('online/'), tf.tensor2d(x, [N, this.dX]), this.inference()).dataSync()));
  }

  /** V(x) = Q(x, mu(x)): x [N*dX] -> [N]. @throws Error when x is not a Float32Array of N*dX values. */
  valueBatch(x: Float32Array, N: number): Float32Array {
    checkInputs('DdpgAgent.valueBatch', x, N, this.dX);
    return tf.tidy(() => {
      const p = this.store.view('online/');
      const xt = tf.tensor2d(x, [N, this.dX]);
      return Float32Array.from(this.net.critic(p, xt, this.net.actor(p, xt, this.inference()), this.inference()).dataSync());
    });
  }

  /** Critic Q(x, u): x [N*dX], u [N*dU] N·m -> [N] (exposed for tests and diagnostics). */
  qValues(x: Float32Array, u: Float32Array, N: number): Float32Array {
    checkInputs('DdpgAgent.qValues', x, N, this.dX, u, this.dU);
    return tf.tidy(() =>
      Float32Array.from(
        this.net.critic(this.store.view('online/'), tf.tensor2d(x, [N, this.dX]), tf.tensor2d(u, [N, this.dU]), this.inference()).dataSync(),
      ),
    );
  }

  private inference() {
    return { mode: 'running' as const, stats: this.store.view('bn/') };
  }

  /** Snapshot of the actor (head 'mu'; meta as for NAF without L) for `createActor`. */
  snapshot(): PolicySnapshot {
    const s = mlpSnapshot(this.net.specs.mu, (n) => this.store.read(`online/${n}`), (n) => this.store.read(`bn/${n}`));
    return {
      kind: 'ddpg',
      dX: this.dX,
      dU: this.dU,
      uMax: Float64Array.from(this.net.cfg.uMax),
      version: this.updates,
      heads: { mu: s.layers },
      meta: { architecture: 'separate', activation: 'relu', batchNorm: this.net.cfg.batchNorm, bnEps: BN_EPS, bn: { mu: s.bn } },
    };
  }

  override dispose(): void {
    super.dispose();
    this.net.dispose();
  }
}
