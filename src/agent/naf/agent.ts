/**
 * NAF: continuous Q-learning with normalized advantage functions (Gu et al. 2016, Sec. 4,
 * Algorithm 1 inner loop). One `update` = one minibatch step:
 *
 *   y_i = r_i + gamma (1 - terminal_i) V'(x'_i)          target network, no gradient
 *   L   = 1/B sum_i (y_i - Q(x_i, u_i))^2                Q = A + V (`heads.ts`)
 *   theta  <- Adam(theta, clip_global_norm(dL/dtheta))
 *   theta' <- tau theta + (1 - tau) theta'               soft target update, every minibatch
 *
 * `terminal` is 1 only for true terminal states; time-limit truncations bootstrap (DESIGN.md Sec. 3).
 * Only V' of the target network is ever used, so the target holds only the weights V depends on
 * (the V network, plus the trunk in the shared architecture). With batch norm, V'(x') normalises
 * with the x' minibatch's own statistics (as Q(x, u) does in the same update); acting and queries
 * use the running averages.
 *
 * How an update runs (issue 10: ~770 tfjs kernels per update before, ~90 now):
 *  1. tfjs: upload the weights (one flat buffer, `learner_base.ts`), forward passes of V', V, mu, L
 *     with caches; download the raw head outputs (V [B], z [B, dU], l [B, nL], V' [B]);
 *  2. plain JS: the loss and its gradient with respect to those outputs (`nafLoss`, the paper's
 *     equations);
 *  3. tfjs: explicit backward passes of the MLPs (`nn/mlp.ts`); download the gradient into one flat
 *     buffer;
 *  4. plain JS: global-norm clipping, Adam, the soft target update and the divergence guard's check
 *     as loops over whole buffers (`LearnerBase`).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.js';
import { BN_EPS, mlpSnapshot, type BnLayer } from '../../nn/mlp.js';
import { downloadInto, featureMajor, lookup, transpose2d, uploadTensors } from '../../nn/tensors.js';
import { checkInputs, resolveLDiag, validateCommon, withDefaults, type AgentOptions } from '../agent_options.js';
import { LearnerBase } from '../learner_base.js';
import type { PolicySnapshot, QAgent, TransitionBatch, UpdateStats } from '../types.js';
import { advantage, lCount, lowerFromL, muFromZ, nafLoss, type NafHeadConfig } from './heads.js';
import { NafNetwork, type NafCaches, type NafHead, type NafOutputs } from './network.js';

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
  readonly heads: NafHeadConfig;
  /** weight matrices whose transposes the forward passes read (online, target) */
  private readonly transposed: string[];
  private readonly targetTransposed: string[];

  /** @throws Error naming the first invalid option. */
  constructor(options: NafOptions) {
    const o = withDefaults(
      { hidden: [200, 200], architecture: 'separate' as const, batchNorm: false, lr: 1e-3, gamma: 0.99, tau: 0.001, gradClipNorm: 10, seed: 0 },
      options,
    );
    validateCommon('NafAgent', o);
    if (o.architecture !== 'separate' && o.architecture !== 'shared') {
      throw new Error(`NafAgent: architecture must be 'separate' or 'shared', got ${String(o.architecture)}`);
    }
    const net = new NafNetwork({ dX: o.dX, dU: o.dU, hidden: o.hidden, architecture: o.architecture, batchNorm: o.batchNorm });
    const init = net.init(new Rng(`naf-init:${o.seed}`));
    super('naf', o.dX, o.dU, { lr: o.lr }, options.divergence?.lrDecay ?? 0.5, o, { ...init, targetPrefixes: net.valuePrefixes() });
    this.net = net;
    this.heads = { dU: o.dU, uMax: Float64Array.from(o.uMax), lDiag: resolveLDiag('NafAgent', options.lDiagMaxExp ?? 5) };
    this.transposed = net.transposed();
    this.targetTransposed = this.transposed.filter((n) => this.targetLayout.has(n));
  }

  /** Current Adam learning rate (decays by `lrDecay` at each divergence-guard rollback). */
  get learningRate(): number {
    return this.lrs.lr;
  }

  /**
   * One guarded minibatch step (module docstring). A batch containing a non-finite number is
   * skipped and counted (weights and learning rate untouched: the data, not the network, is at
   * fault). A non-finite loss, gradient or batch statistic rolls back to the last good state,
   * multiplies the learning rate by `lrDecay` and is counted. Both return `skipped: true`.
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  update(batch: TransitionBatch): UpdateStats {
    return this.guardedUpdate(batch, (t) => {
      const { B } = batch;
      const { dX, dU } = this;
      const nL = lCount(dU);
      const cur = this.state.current;
      let f: ReturnType<typeof nafLoss> | undefined;
      tf.tidy(() => {
        const p = lookup(uploadTensors(this.layout, cur.theta, this.transposed), 'NafAgent');
        const target = lookup(uploadTensors(this.targetLayout, cur.target, this.targetTransposed), 'NafAgent target');
        const Vnext = this.net.forward(target, featureMajor(batch.x2, B, dX), ['V'], { mode: 'batch' }).V!;
        const collect = new Map<string, tf.Tensor>();
        const caches: NafCaches = {};
        const out = this.net.forward(p, featureMajor(batch.x, B, dX), ['V', 'mu', 'L'], { mode: 'batch', collect }, caches);
        f = nafLoss(this.heads, {
          N: B, V: out.V!.dataSync(), z: transpose2d(out.mu!.dataSync(), dU, B), l: transpose2d(out.L!.dataSync(), nL, B),
          Vnext: Vnext.dataSync(), u: batch.u, r: batch.r, terminal: batch.terminal, gamma: this.gamma,
        });
        const grads = new Map<string, tf.Tensor>();
        const d: Required<NafOutputs> = {
          V: tf.tensor2d(f.dV, [1, B]),
          mu: featureMajor(f.dz, B, dU),
          L: featureMajor(f.dl, B, nL),
        };
        this.net.backward(p, caches, d, grads);
        downloadInto(this.layout, this.grad, grads);
        if (this.statLayout.size > 0) downloadInto(this.statLayout, this.batchStats, collect);
      });
      const ok = this.optimize([0, this.layout.size], t, this.lrs.lr);
      return { loss: f!.loss, qMean: f!.qMean, ok };
    });
  }

  /**
   * Greedy actions mu(x): x [N*dX] -> [N*dU] N·m (batch norm in inference mode).
   * @throws Error when x is not a Float32Array of N*dX values.
   */
  actBatch(x: Float32Array, N: number): Float32Array {
    const o = this.evaluate('NafAgent.actBatch', x, N, ['mu']);
    return Float32Array.from(muFromZ(this.heads, o.mu!, N));
  }

  /** V(x): x [N*dX] -> [N]. @throws Error when x is not a Float32Array of N*dX values. */
  valueBatch(x: Float32Array, N: number): Float32Array {
    return this.evaluate('NafAgent.valueBatch', x, N, ['V']).V!;
  }

  /**
   * Q(x, u) = A(x, u) + V(x) of the online network (exposed for tests and diagnostics).
   * x [N*dX], u [N*dU] N·m -> [N]. @throws Error on wrong input sizes.
   */
  qValues(x: Float32Array, u: Float32Array, N: number): Float32Array {
    checkInputs('NafAgent.qValues', x, N, this.dX, u, this.dU);
    const o = this.evaluate('NafAgent.qValues', x, N, ['V', 'mu', 'L']);
    const A = advantage(this.heads, lowerFromL(this.heads, o.L!, N), muFromZ(this.heads, o.mu!, N), u, N);
    return Float32Array.from(A, (a, i) => a + o.V![i]);
  }

  /** L(x) row-major [N*dU*dU] (lower-triangular, positive diagonal; P = L L^T). For tests/actors. */
  lowerTriangular(x: Float32Array, N: number): Float32Array {
    return Float32Array.from(lowerFromL(this.heads, this.evaluate('NafAgent.lowerTriangular', x, N, ['L']).L!, N));
  }

  /** Raw head outputs (V [N], z [N*dU], l [N*nL], row-major) of the online network in inference mode. */
  private evaluate(who: string, x: Float32Array, N: number, which: NafHead[]): { V?: Float32Array; mu?: Float32Array; L?: Float32Array } {
    checkInputs(who, x, N, this.dX);
    const p = lookup(this.currentTensors(this.transposed), who);
    const out: { V?: Float32Array; mu?: Float32Array; L?: Float32Array } = {};
    tf.tidy(() => {
      const o = this.net.forward(p, featureMajor(x, N, this.dX), which, { mode: 'running', stats: p });
      for (const h of which) out[h] = transpose2d(o[h]!.dataSync(), o[h]!.shape[0], N);
    });
    return out;
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
      const s = mlpSnapshot(spec, (n) => this.readParam(n), (n) => this.readStat(n));
      heads[name] = s.layers;
      bn[name] = s.bn;
    }
    const cfg = this.net.cfg;
    return {
      kind: 'naf',
      dX: this.dX,
      dU: this.dU,
      uMax: Float64Array.from(this.heads.uMax),
      version: this.updates,
      heads,
      meta: { architecture: cfg.architecture, activation: 'relu', lDiag: [...this.heads.lDiag], batchNorm: cfg.batchNorm, bnEps: BN_EPS, bn },
    };
  }
}
