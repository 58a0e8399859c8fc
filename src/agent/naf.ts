/**
 * NAF: continuous Q-learning with normalized advantage functions (Gu et al. 2016, Sec. 4,
 * Algorithm 1 inner loop). One `update` = one minibatch step:
 *
 *   y_i = r_i + gamma (1 - terminal_i) V'(x'_i)          target network, no gradient
 *   L   = 1/B sum_i (y_i - Q(x_i, u_i))^2                Q = A + V (see naf_network.ts)
 *   theta  <- Adam(theta, clip_global_norm(dL/dtheta))
 *   theta' <- tau theta + (1 - tau) theta'               soft target update, every minibatch
 *
 * `terminal` is 1 only for true terminal states; time-limit truncations bootstrap (DESIGN.md Sec. 3).
 * Only V' of the target network is ever used, so the target holds only the weights V depends on
 * (the V network, plus the trunk in the shared architecture). With batch norm, V'(x') normalises
 * with the x' minibatch's own statistics (as Q(x, u) does in the same update); acting and queries
 * use the running averages. Every update runs under the divergence guard of `guard.ts`
 * (`LearnerBase.guardedUpdate`); checkpoint layout in `learner_base.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { adamUpdate } from './adam.js';
import { checkInputs, resolveLDiag, validateCommon, withDefaults, type AgentOptions } from './agent_options.js';
import { BN_EPS, BN_MOMENTUM, mlpSnapshot, type BnLayer } from './dense.js';
import { LearnerBase } from './learner_base.js';
import { NafNetwork, type NafHead } from './naf_network.js';
import type { PolicySnapshot, QAgent, TransitionBatch, UpdateStats } from './types.js';

export interface NafOptions extends AgentOptions {
  /** 'separate' networks per head (paper Sec. 6) or a 'shared' trunk */
  architecture?: 'separate' | 'shared';
  /** Adam learning rate (paper grid {1e-4, 1e-3, 1e-2}); default 1e-3 */
  lr?: number;
  /** clamp of L's pre-exponent diagonal: a number m means [-m, m]; default [-5, 5] */
  lDiagMaxExp?: number | [number, number];
}

export class NafAgent extends LearnerBase implements QAgent {
  declare readonly kind: 'naf';
  readonly net: NafNetwork;
  /** online parameter names (without the `online/` prefix) */
  private readonly paramNames: string[];
  private readonly targetNames: string[];
  private readonly statNames: string[];

  /** @throws Error naming the first invalid option. */
  constructor(options: NafOptions) {
    const o = withDefaults(
      {
        hidden: [200, 200],
        architecture: 'separate' as const,
        batchNorm: false,
        lr: 1e-3,
        gamma: 0.99,
        tau: 0.001,
        gradClipNorm: 10,
        seed: 0,
      },
      options,
    );
    validateCommon('NafAgent', o);
    if (o.architecture !== 'separate' && o.architecture !== 'shared') {
      throw new Error(`NafAgent: architecture must be 'separate' or 'shared', got ${String(o.architecture)}`);
    }
    super('naf', o.dX, o.dU, { lr: o.lr }, options.divergence?.lrDecay ?? 0.5, o);
    this.net = new NafNetwork({
      dX: o.dX,
      dU: o.dU,
      hidden: o.hidden,
      architecture: o.architecture,
      batchNorm: o.batchNorm,
      lDiag: resolveLDiag('NafAgent', options.lDiagMaxExp ?? 5),
      uMax: o.uMax,
    });
    const { params, stats } = this.net.init(new Rng(`naf-init:${o.seed}`));
    const valuePrefixes = this.net.valuePrefixes();
    this.paramNames = params.map((p) => p.name);
    this.targetNames = this.paramNames.filter((n) => valuePrefixes.some((pre) => n.startsWith(pre)));
    this.statNames = stats.map((s) => s.name);
    this.addParams(params, stats, this.targetNames);
  }

  /** Current Adam learning rate (decays by `lrDecay` at each divergence-guard rollback). */
  get learningRate(): number {
    return this.lrs.lr;
  }

  /**
   * One guarded minibatch step (module docstring). A batch containing a non-finite number is
   * skipped and counted (weights and learning rate untouched: the data, not the network, is at
   * fault). A non-finite loss, gradient or proposed state rolls back to the last good state,
   * multiplies the learning rate by `lrDecay` and is counted. Both return `skipped: true`.
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  update(batch: TransitionBatch): UpdateStats {
    const { B } = batch;
    return this.guardedUpdate(batch, (t, kept) => {
      const x = tf.tensor2d(batch.x, [B, this.dX]);
      const u = tf.tensor2d(batch.u, [B, this.dU]);
      const x2 = tf.tensor2d(batch.x2, [B, this.dX]);
      const notDone = tf.sub(1, tf.tensor1d(batch.terminal));
      const Vnext = this.net.heads(this.store.view('target/'), x2, ['V'], { mode: 'batch' }).V!;
      const y = tf.add(tf.tensor1d(batch.r), tf.mul(tf.mul(notDone, this.gamma), Vnext));

      const online = this.paramNames.map((n) => this.store.get(`online/${n}`));
      const batchStats = new Map<string, tf.Tensor>();
      let qMean: tf.Tensor | null = null;
      const { value: loss, grads } = tf.variableGrads(() => {
        const h = this.net.heads(this.store.view('online/'), x, ['V', 'mu', 'L'], { mode: 'batch', collect: batchStats });
        const q = tf.add(h.V!, this.net.advantage(h.L!, h.mu!, u));
        qMean = tf.keep(tf.mean(q));
        kept.push(qMean, ...[...batchStats.values()].map((s) => tf.keep(s)));
        return tf.mean(tf.squaredDifference(q, y)) as tf.Scalar;
      }, online);

      const step = adamUpdate({
        params: online,
        grads: online.map((v) => grads[v.name]),
        m: this.paramNames.map((n) => this.store.get(`adam_m/${n}`)),
        v: this.paramNames.map((n) => this.store.get(`adam_v/${n}`)),
        t,
        lr: this.lrs.lr,
        clipNorm: this.gradClipNorm,
        cfg: this.adam,
      });
      const proposal = new Map<string, tf.Tensor>();
      this.paramNames.forEach((n, i) => {
        proposal.set(`online/${n}`, step.params[i]).set(`adam_m/${n}`, step.m[i]).set(`adam_v/${n}`, step.v[i]);
      });
      for (const n of this.targetNames) {
        const target = this.store.get(`target/${n}`);
        proposal.set(`target/${n}`, tf.add(tf.mul(proposal.get(`online/${n}`)!, this.tau), tf.mul(target, 1 - this.tau)));
      }
      for (const n of this.statNames) {
        const running = this.store.get(`bn/${n}`);
        proposal.set(`bn/${n}`, tf.add(tf.mul(running, BN_MOMENTUM), tf.mul(batchStats.get(n)!, 1 - BN_MOMENTUM)));
      }
      return { proposal, loss, qMean: qMean! };
    });
  }

  /**
   * Greedy actions mu(x): x [N*dX] -> [N*dU] N·m (batch norm in inference mode).
   * @throws Error when x is not a Float32Array of N*dX values.
   */
  actBatch(x: Float32Array, N: number): Float32Array {
    return this.evaluate(x, N, (h) => h.mu!, ['mu']);
  }

  /** V(x): x [N*dX] -> [N]. @throws Error when x is not a Float32Array of N*dX values. */
  valueBatch(x: Float32Array, N: number): Float32Array {
    return this.evaluate(x, N, (h) => h.V!, ['V']);
  }

  /**
   * Q(x, u) = A(x, u) + V(x) of the online network (exposed for tests and diagnostics).
   * x [N*dX], u [N*dU] N·m -> [N].
   */
  qValues(x: Float32Array, u: Float32Array, N: number): Float32Array {
    checkInputs('NafAgent.qValues', x, N, this.dX, u, this.dU);
    const uT = tf.tensor2d(u, [N, this.dU]);
    try {
      return this.evaluate(x, N, (h) => tf.add(h.V!, this.net.advantage(h.L!, h.mu!, uT)), ['V', 'mu', 'L']);
    } finally {
      uT.dispose();
    }
  }

  /** L(x) row-major [N*dU*dU] (lower-triangular, positive diagonal; P = L L^T). For tests/actors. */
  lowerTriangular(x: Float32Array, N: number): Float32Array {
    return this.evaluate(x, N, (h) => h.L!, ['L']);
  }

  private evaluate(
    x: Float32Array,
    N: number,
    pick: (h: ReturnType<NafNetwork['heads']>) => tf.Tensor,
    which: NafHead[],
  ): Float32Array {
    checkInputs('NafAgent', x, N, this.dX);
    return tf.tidy(() => {
      const h = this.net.heads(this.store.view('online/'), tf.tensor2d(x, [N, this.dX]), which, {
        mode: 'running',
        stats: this.store.view('bn/'),
      });
      return Float32Array.from(pick(h).dataSync() as Float32Array);
    });
  }

  /**
   * Policy snapshot for `createActor`: heads mu and L (and trunk when shared) as dense layers;
   * meta = { architecture, activation: 'relu', lDiag: [lo, hi], batchNorm, bnEps,
   * bn: { head: (BnLayer | null)[] } } with the running batch-norm statistics. V is not included.
   */
  snapshot(): PolicySnapshot {
    const heads: PolicySnapshot['heads'] = {};
    const bn: Record<string, (BnLayer | null)[]> = {};
    for (const [name, spec] of Object.entries(this.net.specs)) {
      if (name === 'V') continue;
      const s = mlpSnapshot(spec, (n) => this.store.read(`online/${n}`), (n) => this.store.read(`bn/${n}`));
      heads[name] = s.layers;
      bn[name] = s.bn;
    }
    const cfg = this.net.cfg;
    return {
      kind: 'naf',
      dX: this.dX,
      dU: this.dU,
      uMax: Float64Array.from(cfg.uMax),
      version: this.updates,
      heads,
      meta: {
        architecture: cfg.architecture,
        activation: 'relu',
        lDiag: [...cfg.lDiag],
        batchNorm: cfg.batchNorm,
        bnEps: BN_EPS,
        bn,
      },
    };
  }

  override dispose(): void {
    super.dispose();
    this.net.dispose();
  }
}
