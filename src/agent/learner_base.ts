/**
 * What NAF and DDPG share around their gradient step: the flat parameter buffers, the guarded
 * update transaction, the optimiser step, counters, learning rates, checkpoint state, and the
 * tfjs copies of the weights that queries use.
 *
 * State (`FlatState`, all float32, layouts from the agent's networks):
 *   theta   online weights                 m, v   Adam moments of theta
 *   target  target copies of the weights the Bellman target uses (a contiguous block of theta)
 *   bn      batch-norm running mean/variance of the online networks
 * `AgentState` names each tensor, not the flat buffers, so a checkpoint does not depend on how they are packed:
 *   online/<param>, adam_m/<param>, adam_v/<param>, target/<param>, bn/<stat>, with policy
 *   averaging average/<param>, and with observation normalisation obs_norm/mean, obs_norm/var;
 * scalars dX, dU, updates, divergences, adam_t, one entry per learning rate, action_normalized
 * (1/0), obs_norm_count, and with policy averaging average_count (episodes averaged; absent in
 * checkpoints written before it was kept).
 *
 * Units: the agents' interface is in N·m; inside, the networks see actions
 * a = u / s with s = `actionScale` (uMax when actions are normalised, 1 otherwise) and, optionally,
 * normalised observations (`normalizer.ts`).
 *
 * Divergence guard (every update is a transaction, `nn/flat_state.ts`): the agent computes loss and
 * gradients, then updates weights, moments, target weights and statistics in place after saving
 * them; the step is committed only when loss, mean Q, the squared gradient norm (per optimised
 * network) and the batch statistics are finite, the gradient norm is below float32 overflow (so
 * the moments stay finite) and every new weight is representable in float32 (one comparison inside
 * Adam's loop). The check is a by-product of values and loops the step has anyway, not a separate
 * pass. Otherwise a non-finite batch is skipped and counted (the data
 * is at fault); a failed step rolls back to the state before the last committed step, decays
 * every learning rate by `lrDecay`, and is counted.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_DEFAULTS, adamStep, clipScale, F32_MAX, softUpdate, sumSquares, type AdamConfig } from '../nn/adam.js';
import { FlatState } from '../nn/flat_state.js';
import { ParamLayout } from '../nn/layout.js';
import { BN_MOMENTUM, type TensorInit } from '../nn/mlp.js';
import { uploadTensors } from '../nn/tensors.js';
import { readScalars, type AgentOptions } from './agent_options.js';
import { normalizeRows, RunningNorm, type ObsNormStats } from './normalizer.js';
import { batchIsFinite, validateBatch } from './batch.js';
import type { AgentNotice, AgentState, ThreadStatus, TransitionBatch, UpdateStats } from './types.js';

export type StateBuffer = 'theta' | 'm' | 'v' | 'target' | 'bn';

/** What one update's gradient computation reports to the transaction. */
export interface StepResult {
  loss: number;
  qMean: number;
  /** false when a quantity the step produced (gradient norm, batch statistics) is not finite */
  ok: boolean;
}

export abstract class LearnerBase {
  /** trainable weights (theta, m, v) */
  protected readonly layout: ParamLayout;
  /** the target network's weights: a contiguous block of `layout` */
  protected readonly targetLayout: ParamLayout;
  /** [start, end) of the target block inside theta */
  protected readonly targetRange: [number, number];
  /** batch-norm running statistics */
  protected readonly statLayout: ParamLayout;
  protected readonly state: FlatState<StateBuffer, 'grad' | 'batchStats'>;
  /** gradient of the update in progress, layout of theta */
  protected readonly grad: Float32Array;
  /** batch statistics of the update in progress, layout of bn */
  protected readonly batchStats: Float32Array;
  /** Adam step count (shared by all optimised networks: each steps once per update) */
  protected adamT = 0;
  private nUpdates = 0;
  private nDivergences = 0;
  /** bumped whenever the current state changes; keys the tfjs copies of the weights */
  private version = 0;
  private cached: { version: number; tensors: Map<string, tf.Tensor> } | null = null;

  /** discount */
  protected readonly gamma: number;
  /** soft target rate */
  protected readonly tau: number;
  /** global gradient-norm clip per network, 0 = off */
  protected readonly gradClipNorm: number;
  protected readonly adam: AdamConfig;
  /** [dU] s: the networks see a = u / s (N·m per network unit) */
  protected readonly actionScale: Float64Array;
  /** running observation statistics, or null */
  protected readonly obsNorm: RunningNorm | null;
  private readonly actionScaleIsBound: boolean;
  /**
   * The bias-corrected Polyak average of theta (layout of theta; `averagePolicy`), or null when
   * policy averaging is off or has not started (no episode with updates yet).
   */
  private avg: Float32Array | null = null;
  /** notices not yet taken (`takeNotices`) */
  private readonly notices: AgentNotice[] = [];
  /** Episodes averaged into `avg` (k of `averagePolicy`); Infinity for averages of checkpoints that did not count them. */
  private avgCount = 0;

  /**
   * @param lrs named learning rates (e.g. { lr } or { actor_lr, critic_lr }), decayed together
   * @param lrDecay multiplier applied to every learning rate at each rollback, in (0, 1]
   * @param h the hyper-parameters both agents share (Adam: Kingma & Ba's defaults where not given)
   * @param init initial weights and statistics in layout order; `targetPrefixes` name the target block;
   *   `shared`: state, gradient and batch statistics on a shared memory (a second thread helps)
   * @throws Error when lrDecay is outside (0, 1] or the target tensors are not contiguous
   */
  protected constructor(
    readonly kind: 'naf' | 'ddpg',
    readonly dX: number,
    readonly dU: number,
    protected readonly lrs: Record<string, number>,
    private readonly lrDecay: number,
    h: { gamma: number; tau: number; gradClipNorm: number; adam?: Partial<AdamConfig>; uMax: Float64Array } & Pick<AgentOptions, 'normalizeActions' | 'normalizeObservations'>,
    init: { params: TensorInit[]; stats: TensorInit[]; targetPrefixes: string[]; shared?: boolean },
  ) {
    this.gamma = h.gamma;
    this.tau = h.tau;
    this.gradClipNorm = h.gradClipNorm;
    this.adam = { ...ADAM_DEFAULTS, ...h.adam };
    this.actionScaleIsBound = h.normalizeActions !== false;
    this.actionScale = this.actionScaleIsBound ? Float64Array.from(h.uMax) : new Float64Array(dU).fill(1);
    this.obsNorm = h.normalizeObservations ? new RunningNorm(dX) : null;
    if (!(lrDecay > 0 && lrDecay <= 1)) throw new Error(`${this.who}: divergence.lrDecay must be in (0, 1], got ${lrDecay}`);
    this.layout = new ParamLayout(init.params);
    this.targetRange = this.layout.range(init.targetPrefixes);
    this.targetLayout = this.layout.subset(init.targetPrefixes);
    this.statLayout = new ParamLayout(init.stats);
    this.state = new FlatState(
      { theta: this.layout.size, m: this.layout.size, v: this.layout.size, target: this.targetLayout.size, bn: this.statLayout.size },
      { shared: init.shared, scratch: { grad: this.layout.size, batchStats: this.statLayout.size } },
    );
    const cur = this.state.current;
    for (const p of init.params) cur.theta.set(p.data, this.layout.entry(p.name).offset);
    for (const s of init.stats) cur.bn.set(s.data, this.statLayout.entry(s.name).offset);
    cur.target.set(cur.theta.subarray(...this.targetRange)); // theta' <- theta
    this.grad = this.state.scratch.grad;
    this.batchStats = this.state.scratch.batchStats;
  }

  protected get who(): string {
    return this.kind === 'naf' ? 'NafAgent' : 'DdpgAgent';
  }

  get updates(): number {
    return this.nUpdates;
  }

  get divergences(): number {
    return this.nDivergences;
  }

  /**
   * Runs one update transaction. `step(t)` (t: the Adam step number) computes the gradient into
   * `grad`, the batch statistics into `batchStats`, and calls `optimize` for each network (which
   * updates theta, m, v in place); the transaction then updates the target weights and statistics
   * and commits, or rolls back (module docstring).
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  protected guardedUpdate(batch: TransitionBatch, step: (t: number) => StepResult): UpdateStats {
    validateBatch(batch, this.dX, this.dU);
    if (!batchIsFinite(batch)) {
      this.nDivergences++;
      return { loss: NaN, qMean: NaN, skipped: true };
    }
    const t = this.adamT + 1;
    let r: StepResult;
    try {
      r = step(t);
    } catch (e) {
      // A step that threw (e.g. the two-thread update's worker failed) leaves no half-written state.
      this.state.abortStep();
      this.version++;
      throw e;
    }
    const ok = r.ok && Number.isFinite(r.loss) && Number.isFinite(r.qMean) && allFinite(this.batchStats);
    if (ok && this.state.stepInProgress) {
      const cur = this.state.current;
      softUpdate(cur.target, cur.theta, this.targetRange[0], this.tau);
      for (let i = 0; i < cur.bn.length; i++) cur.bn[i] = cur.bn[i] * BN_MOMENTUM + this.batchStats[i] * (1 - BN_MOMENTUM);
      this.state.commit();
      this.adamT = t;
      this.nUpdates++;
      this.version++;
      return { loss: r.loss, qMean: r.qMean, skipped: false };
    }
    const restored = this.state.rollback();
    if (restored) this.adamT = restored.adamT;
    this.version++;
    for (const k of Object.keys(this.lrs)) this.lrs[k] *= this.lrDecay;
    this.nDivergences++;
    return { loss: r.loss, qMean: r.qMean, skipped: true };
  }

  /**
   * Adam on the elements [start, end) of theta (one network) with `grad`, in place (the state is
   * saved first, once per update): optional L2 weight decay g += wd theta on `decay` ranges,
   * global-norm clipping over the range, then the step. Returns false — and writes nothing — when
   * the squared gradient norm is not finite or would overflow the float32 moments; false after
   * writing when a new weight overflows float32 (the guard's checks, made inside the loops the step
   * runs anyway; the transaction then rolls back).
   */
  protected optimize(range: [number, number], t: number, lr: number, decay?: { wd: number; ranges: [number, number][] }): boolean {
    const norm2 = this.gradNorm2(range, decay);
    if (!(norm2 <= F32_MAX)) return false;
    return this.adamRange(range, t, lr, clipScale(Math.sqrt(norm2), this.gradClipNorm));
  }

  /**
   * Squared norm of `grad` over [start, end), after the optional L2 weight decay g += wd theta on
   * `decay` ranges. A value above F32_MAX (or NaN) fails the guard's check.
   */
  protected gradNorm2(range: [number, number], decay?: { wd: number; ranges: [number, number][] }): number {
    if (decay && decay.wd > 0) {
      const theta = this.state.current.theta;
      for (const [a, b] of decay.ranges) for (let i = a; i < b; i++) this.grad[i] += decay.wd * theta[i];
    }
    return sumSquares(this.grad, range[0], range[1]);
  }

  /**
   * Saves the state (once per update, `beginStep`) and runs Adam in place on [start, end) with the
   * gradient scaled by `scale`. Returns false when a new weight overflows float32.
   */
  protected adamRange(range: [number, number], t: number, lr: number, scale: number): boolean {
    const cur = this.state.current;
    this.state.beginStep({ adamT: this.adamT });
    this.version++;
    return adamStep({ theta: cur.theta, m: cur.m, v: cur.v, g: this.grad, out: cur, start: range[0], end: range[1], t, lr, scale, cfg: this.adam });
  }

  /**
   * tfjs tensors of the current online weights (plus `<W>^T` of the `transposed` ones) and
   * batch-norm statistics, by parameter / stat name, kept until the state changes. For queries
   * between updates (imagination rollouts call `actBatch` many times per update); do not dispose
   * them. `transposed` must be the same list at every call.
   */
  protected currentTensors(transposed: readonly string[]): Map<string, tf.Tensor> {
    if (this.cached?.version !== this.version) {
      this.disposeCached();
      const cur = this.state.current;
      const tensors = new Map<string, tf.Tensor>();
      tf.tidy(() => {
        for (const [k, v] of uploadTensors(this.layout, cur.theta, transposed)) tensors.set(k, tf.keep(v));
        for (const [k, v] of uploadTensors(this.statLayout, cur.bn)) tensors.set(k, tf.keep(v));
      });
      this.cached = { version: this.version, tensors };
    }
    return this.cached!.tensors;
  }

  /** Copy of one weight tensor (for snapshots): online, or from the averaged weights. */
  protected readParam(name: string, averaged = false): Float32Array {
    return this.layout.view(averaged && this.avg ? this.avg : this.state.current.theta, name).slice();
  }

  /**
   * Policy averaging (Polyak–Ruppert averaging of the iterates), called once per
   * real episode by the learner: the averaged weights become the greedy policy (`greedySnapshot`:
   * evaluation, the held-out test, checkpoints' policy, deploy) while exploration keeps the online
   * weights.
   *
   * The average starts at the first call after an update: calls before any update leave
   * averaging off, so the random initial weights never enter it. From then on it is the
   * exponential moving average with Adam's bias correction (Kingma & Ba 2015, Sec. 3) over the
   * k episodes averaged so far:
   *   a_k = (1 - beta) a_{k-1} + beta theta_k,  a_0 = 0;   avg_k = a_k / (1 - (1 - beta)^k),
   * kept directly as avg_k = avg_{k-1} + (theta_k - avg_{k-1}) beta / (1 - (1 - beta)^k), so
   * avg_1 = theta_1 exactly, avg_k weights theta_i by beta (1 - beta)^(k-i) / (1 - (1 - beta)^k)
   * (a proper weighted average at every k), and for large k the step tends to beta (the plain
   * EMA). Without the correction, an average started at the first episode would keep
   * (1 - beta)^(k-1) of its start — 39 % at k = 10 for beta = 0.1 — where the fast methods reach
   * the goal. An average restored from a checkpoint written before the count was saved continues
   * as the plain EMA (k = Infinity).
   * @throws RangeError unless 0 < beta <= 1.
   */
  averagePolicy(beta: number): void {
    if (!(beta > 0 && beta <= 1)) throw new RangeError(`${this.who}.averagePolicy: beta must be in (0, 1], got ${beta}`);
    if (this.nUpdates === 0) return;
    const theta = this.state.current.theta;
    if (!this.avg) {
      this.avg = theta.slice();
      this.avgCount = 1;
      return;
    }
    this.avgCount++;
    const rate = beta / (1 - (1 - beta) ** this.avgCount);
    for (let i = 0; i < theta.length; i++) this.avg[i] += (theta[i] - this.avg[i]) * rate;
  }

  /** True once `averagePolicy` has started an average. */
  get averaging(): boolean {
    return this.avg !== null;
  }

  /** Copy of one batch-norm statistic (for snapshots). */
  protected readStat(name: string): Float32Array {
    return this.statLayout.view(this.state.current.bn, name).slice();
  }

  /** The network bound of a = u / s: uMax / s (ones when actions are normalised). */
  protected networkBound(uMax: Float64Array): Float64Array {
    return Float64Array.from(uMax, (m, j) => m / this.actionScale[j]);
  }

  /**
   * The minibatch as the networks see it: the observation statistics updated with its x, then
   * frozen for this update (x and x' normalised with the same values); u / s.
   */
  protected networkBatch(batch: TransitionBatch): TransitionBatch {
    const s = this.actionScale;
    const u = Float32Array.from(batch.u, (v, i) => v / s[i % this.dU]);
    if (!this.obsNorm) return { ...batch, u };
    this.obsNorm.update(batch.x, batch.B);
    const st = this.obsNorm.stats();
    return { ...batch, u, x: normalizeRows(batch.x, batch.B, st), x2: normalizeRows(batch.x2, batch.B, st) };
  }

  /** Observations [N*dX] as the networks see them (current statistics; unchanged without normalisation). */
  protected networkObs(x: Float32Array, N: number): Float32Array {
    return this.obsNorm ? normalizeRows(x, N, this.obsNorm.stats()) : x;
  }

  /** Snapshot meta of the units (`actor.ts`): actionScale, and obsNorm when observations are normalised. */
  protected unitsMeta(): { actionScale: number[]; obsNorm?: ObsNormStats } {
    return { actionScale: Array.from(this.actionScale), ...(this.obsNorm ? { obsNorm: this.obsNorm.stats() } : {}) };
  }

  /** Every state tensor (copies) plus dX, dU, updates, divergences, adam_t and the learning rates. */
  async getState(): Promise<AgentState> {
    const cur = this.state.current;
    const tensors: AgentState['tensors'] = [];
    for (const e of this.layout.entries) {
      for (const [prefix, buf] of [['online/', cur.theta], ['adam_m/', cur.m], ['adam_v/', cur.v]] as const) {
        tensors.push({ name: prefix + e.name, shape: [...e.shape], data: buf.slice(e.offset, e.offset + e.size) });
      }
    }
    for (const e of this.targetLayout.entries) tensors.push({ name: `target/${e.name}`, shape: [...e.shape], data: cur.target.slice(e.offset, e.offset + e.size) });
    for (const e of this.statLayout.entries) tensors.push({ name: `bn/${e.name}`, shape: [...e.shape], data: cur.bn.slice(e.offset, e.offset + e.size) });
    if (this.avg) for (const e of this.layout.entries) tensors.push({ name: `average/${e.name}`, shape: [...e.shape], data: this.avg.slice(e.offset, e.offset + e.size) });
    if (this.obsNorm) {
      tensors.push({ name: 'obs_norm/mean', shape: [this.dX], data: Float32Array.from(this.obsNorm.mean) });
      tensors.push({ name: 'obs_norm/var', shape: [this.dX], data: Float32Array.from(this.obsNorm.variance()) });
    }
    return {
      kind: this.kind,
      tensors,
      scalars: {
        dX: this.dX, dU: this.dU, updates: this.nUpdates, divergences: this.nDivergences, adam_t: this.adamT, ...this.lrs,
        action_normalized: this.normalizesActions() ? 1 : 0,
        obs_norm_count: this.obsNorm?.count ?? 0,
        ...(this.avg && Number.isFinite(this.avgCount) ? { average_count: this.avgCount } : {}),
      },
    };
  }

  /**
   * Restores `getState()` output, including decayed learning rates. The rollback point is
   * cleared: the loaded state is the last good one.
   * @throws Error naming the mismatch (kind, dX, dU, a missing, unexpected, mis-shaped or
   *   non-finite tensor, a missing scalar); nothing is changed then.
   */
  async setState(state: AgentState): Promise<void> {
    const s = readScalars(this.who, state, this.kind, this.dX, this.dU, ['updates', 'divergences', 'adam_t', ...Object.keys(this.lrs)]);
    // A state without an action_normalized scalar predates action normalisation: its networks work in N·m.
    const savedNormalized = (state.scalars.action_normalized ?? 0) === 1;
    if (savedNormalized !== this.normalizesActions()) {
      throw new Error(`${this.who}.setState: the state's networks work on ${savedNormalized ? 'normalised actions u/u_max' : 'torques in N·m'}, this agent on ${this.normalizesActions() ? 'normalised actions' : 'torques'} (agent.normalize_actions: ${!savedNormalized ? 'false' : 'true'} loads it)`);
    }
    const places = new Map<string, { buf: StateBuffer | 'avg'; offset: number; shape: number[]; size: number }>();
    for (const e of this.layout.entries) {
      places.set(`online/${e.name}`, { buf: 'theta', ...e });
      places.set(`adam_m/${e.name}`, { buf: 'm', ...e });
      places.set(`adam_v/${e.name}`, { buf: 'v', ...e });
    }
    for (const e of this.targetLayout.entries) places.set(`target/${e.name}`, { buf: 'target', ...e });
    for (const e of this.statLayout.entries) places.set(`bn/${e.name}`, { buf: 'bn', ...e });
    // The policy average travels with the state when it has one (absent: averaging not started).
    const averaged = state.tensors.some((t) => t.name.startsWith('average/'));
    if (averaged) for (const e of this.layout.entries) places.set(`average/${e.name}`, { buf: 'avg', ...e });
    const norm = this.obsNorm ? { mean: state.tensors.find((t) => t.name === 'obs_norm/mean'), variance: state.tensors.find((t) => t.name === 'obs_norm/var') } : null;
    if (norm && (!norm.mean || !norm.variance)) throw new Error(`${this.who}.setState: observation normalisation is on but the state has no obs_norm statistics`);
    const given = new Map((state.tensors ?? []).map((t) => [t.name, t]));
    for (const name of places.keys()) if (!given.has(name)) throw new Error(`agent state: missing tensor '${name}'`);
    for (const t of state.tensors) {
      if (norm && t.name.startsWith('obs_norm/')) continue;
      const p = places.get(t.name);
      if (!p) throw new Error(`agent state: unexpected tensor '${t.name}'`);
      if (String(t.shape) !== String(p.shape)) throw new Error(`agent state: tensor '${t.name}' has shape [${t.shape}], expected [${p.shape}]`);
      if (!(t.data instanceof Float32Array) || t.data.length !== p.size) throw new Error(`agent state: tensor '${t.name}' needs a Float32Array of ${p.size} values`);
      const bad = t.data.findIndex((a) => !Number.isFinite(a));
      if (bad >= 0) throw new Error(`agent state: tensor '${t.name}' has a non-finite value (${t.data[bad]}) at index ${bad}`);
    }
    if (norm) this.obsNorm!.set(state.scalars.obs_norm_count ?? 0, norm.mean!.data, norm.variance!.data);
    this.avg = averaged ? this.layout.zeros() : null;
    // Averages saved before the count was kept continue as the plain EMA (k = Infinity).
    const count = state.scalars.average_count;
    this.avgCount = averaged ? (typeof count === 'number' && count >= 1 ? count : Infinity) : 0;
    const cur = this.state.current;
    for (const t of state.tensors) {
      const p = places.get(t.name);
      if (!p) continue;
      (p.buf === 'avg' ? this.avg! : cur[p.buf]).set(t.data, p.offset);
    }
    this.state.forget();
    this.version++;
    this.nUpdates = s.updates;
    this.nDivergences = s.divergences;
    this.adamT = s.adam_t;
    for (const k of Object.keys(this.lrs)) this.lrs[k] = s[k];
  }

  /** Linux thread ids of worker threads the agent runs (none by default; NAF's head worker). */
  helperThreadIds(): number[] {
    return [];
  }

  /** One thread, no worker (NAF's two-thread update overrides this). */
  threadStatus(): ThreadStatus {
    return { configured: 1, inUse: 1, workerFailures: 0, oneThreadForGood: false };
  }

  /** Notices since the last call, oldest first (`QAgent.takeNotices`). */
  takeNotices(): AgentNotice[] {
    return this.notices.splice(0);
  }

  /** Queues a notice for the owner's log (`takeNotices`). */
  protected notify(n: AgentNotice): void {
    this.notices.push(n);
  }

  /** True when the networks work on normalised actions (u / uMax). */
  protected normalizesActions(): boolean {
    return this.actionScaleIsBound;
  }

  /** Frees the tfjs copies of the weights (the flat buffers are plain memory). */
  dispose(): void {
    this.disposeCached();
  }

  private disposeCached(): void {
    if (this.cached) for (const t of this.cached.tensors.values()) t.dispose();
    this.cached = null;
  }
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
