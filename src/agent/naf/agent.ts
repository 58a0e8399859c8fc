/**
 * NAF: continuous Q-learning with normalized advantage functions (Gu et al. 2016, Sec. 4,
 * Algorithm 1 inner loop). One `update` = one minibatch step:
 *
 *   y_i = r_i + gamma (1 - terminal_i) V'(x'_i)          target network, no gradient
 *   L   = 1/B sum_i (y_i - Q(x_i, u_i))^2                Q = A + V (`heads.ts`)
 *   theta  <- Adam(theta, clip_norm(dL/dtheta))          clipped per network (V, mu, L apart)
 *   theta' <- tau theta + (1 - tau) theta'               soft target update, every minibatch
 *
 * `terminal` is 1 only for true terminal states; time-limit truncations bootstrap (DESIGN.md Sec. 3).
 * Only V' of the target network is ever used, so the target holds only the weights V depends on
 * (the V network, plus the trunk in the shared architecture). With batch norm, V'(x') normalises
 * with the x' minibatch's own statistics (as Q(x, u) does in the same update); acting and queries
 * use the running averages.
 *
 * How an update runs (~100 tfjs kernels per update; differentiating through tfjs's tape takes ~770):
 *  1. tfjs: upload the weights (one flat buffer, `learner_base.ts`), forward passes of V', V, mu, L
 *     with caches; download the raw head outputs (V [B], z [B, dU], l [B, nL], V' [B]);
 *  2. plain JS: the loss and its gradient with respect to those outputs (`nafLoss`, the paper's
 *     equations);
 *  3. tfjs: explicit backward passes of the MLPs (`nn/mlp.ts`); download the gradient into one flat
 *     buffer;
 *  4. plain JS: gradient-norm clipping, Adam, the soft target update and the divergence guard's
 *     checks as loops over whole buffers (`LearnerBase`).
 * With a native GEMM (`gemm`, `agent.update_path`) steps 1-3 run without tfjs on the flat buffers
 * (`dense_step.ts`), ~4.6x the updates/s here (bench --peers); step 4 is the same code.
 * With `threads: 2` the same steps are split between this thread and a worker (`parallel.ts`). A
 * worker failure (it throws, dies or stalls past `workerTimeoutMs`) costs nothing but time: the
 * step is undone on both threads and redone on this one, `update` returns normally, and the
 * worker is restarted — or, after `workerFailureLimit` failures in a row, the agent stays on one
 * thread (`head_keeper.ts`); each event is one `AgentNotice` for the owner's log.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.js';
import { clipScale, F32_MAX, sumSquares } from '../../nn/adam.js';
import { BN_EPS, mlpBackwardBelow, mlpSnapshot, type BnLayer, type LayerCache } from '../../nn/mlp.js';
import { downloadInto, featureMajor, lookup, transpose2d, uploadTensors } from '../../nn/tensors.js';
import { checkInputs, resolveLDiag, validateCommon, withDefaults, type AgentOptions } from '../agent_options.js';
import { LearnerBase, type StepResult } from '../learner_base.js';
import type { PolicySnapshot, QAgent, TransitionBatch, UpdateStats } from '../types.js';
import { advantage, lCount, lowerFromL, muFromZ, nafLoss, type NafHeadConfig, type NafLossResult } from './heads.js';
import { NafNetwork, type NafCaches, type NafHead, type NafOutputs } from './network.js';
import { HeadWorkerKeeper } from './head_keeper.js';
import { NafDenseStep } from './dense_step.js';
import { DRILL_ENV, parseWorkerDrill, type WorkerDrill } from './drill.js';
import type { Gemm } from '../../nn/gemm.js';
import { CMD, DEFAULT_TIMEOUT_MS, HeadWorker, HeadWorkerError, MAX_BATCH, PARAM, SLOT, SPLIT_LAYER, workerRegion, type HeadWorkerFault, type WorkerRegion } from './parallel.js';
import type { ThreadStatus } from '../types.js';

export interface NafOptions extends AgentOptions {
  /** 'separate' networks per head (paper Sec. 6) or a 'shared' trunk */
  architecture?: 'separate' | 'shared';
  /** Adam learning rate (paper grid {1e-4, 1e-3, 1e-2}); default 1e-3 */
  lr?: number;
  /** clamp of L's pre-exponent diagonal: a number m means [-m, m]; default [-5, 5] */
  lDiagMaxExp?: number | [number, number];
  /**
   * 2: prepare the two-thread update (`parallel.ts`; 'separate' architecture only): the state goes
   * on SharedArrayBuffers and `startWorker()` starts the second thread. Default 1.
   */
  threads?: 1 | 2;
  /** two threads: how long this thread waits for one answer of the head worker before it counts as failed, ms; default 30000 */
  workerTimeoutMs?: number;
  /** two threads: head-worker failures in a row after which updates stay on one thread (`head_keeper.ts`); default 3 */
  workerFailureLimit?: number;
  /**
   * Tests only: the head worker is started with fault injection (`injectWorkerFault`); no config
   * parameter reaches it. (The operator's drill, `NAF_ROS_DRILL_HEAD_WORKER` (drill.ts), arms one
   * fault through the same slots.)
   */
  testWorkerFaults?: boolean;
  /**
   * A native GEMM (`nn/gemm.ts`): the update's dense layers run on it over the flat buffers
   * (`dense_step.ts`) instead of tfjs. Ignored with batch normalisation (tfjs path).
   */
  gemm?: Gemm | null;
}

export class NafAgent extends LearnerBase implements QAgent {
  declare readonly kind: 'naf';
  readonly net: NafNetwork;
  /** [dU] N·m, the torque bound */
  readonly uMax: Float64Array;
  /** the heads in network units (a = u / actionScale; `LearnerBase`) */
  readonly heads: NafHeadConfig;
  /** the head worker's lifecycle (threads = 2), null with one thread */
  private readonly keeper: HeadWorkerKeeper | null;
  /** what the head worker writes (`parallel.ts`, rule 1), null with one thread */
  private readonly region: WorkerRegion | null;
  private readonly workerTimeoutMs: number;
  private readonly testWorkerFaults: boolean;
  /** The head-worker fault drill still to fire (`drill.ts`), or null. */
  private drill: WorkerDrill | null;
  /** [start, end) of mu, of L's layers below SPLIT_LAYER and above; the batch-statistics entries of mu and L */
  private readonly split: { mu: [number, number]; lBelow: [number, number]; lTop: [number, number]; stats: [number, number][] } | null;
  /**
   * [start, end) of each network in theta, clipped separately: V, mu, L of the 'separate'
   * architecture; the whole parameter vector for the shared trunk.
   */
  private readonly networks: [number, number][];
  /** weight matrices whose transposes the forward passes read (online, target) */
  private readonly transposed: string[];
  private readonly targetTransposed: string[];
  /** the update's steps 1-3 on a native GEMM, or null (tfjs) */
  private readonly dense: NafDenseStep | null;
  private readonly gemmName: string;

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
    const threads = options.threads ?? 1;
    if (threads !== 1 && threads !== 2) throw new Error(`NafAgent: threads must be 1 or 2, got ${String(threads)}`);
    if (threads === 2 && o.architecture !== 'separate') throw new Error(`NafAgent: threads = 2 needs the 'separate' architecture (the shared trunk cannot be split), got '${o.architecture}'`);
    const net = new NafNetwork({ dX: o.dX, dU: o.dU, hidden: o.hidden, architecture: o.architecture, batchNorm: o.batchNorm });
    const init = net.init(new Rng(`naf-init:${o.seed}`));
    super('naf', o.dX, o.dU, { lr: o.lr }, options.divergence?.lrDecay ?? 0.5, o, { ...init, targetPrefixes: net.valuePrefixes(), shared: threads === 2 });
    this.net = net;
    this.uMax = Float64Array.from(o.uMax);
    this.heads = { dU: o.dU, uMax: this.networkBound(this.uMax), lDiag: resolveLDiag('NafAgent', options.lDiagMaxExp ?? 5) };
    this.transposed = net.transposed();
    this.networks = o.architecture === 'separate' ? ['V/', 'mu/', 'L/'].map((h) => this.layout.range([h])) : [[0, this.layout.size]];
    this.targetTransposed = this.transposed.filter((n) => this.targetLayout.has(n));
    this.dense = options.gemm && !o.batchNorm ? new NafDenseStep(net.specs, this.layout, this.targetLayout, options.gemm) : null;
    this.gemmName = options.gemm?.name ?? '';
    this.workerTimeoutMs = options.workerTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    // A drill (drill.ts) needs the fault slots read; only with two threads.
    this.drill = threads === 2 ? parseWorkerDrill(process.env[DRILL_ENV]) : null;
    this.testWorkerFaults = (options.testWorkerFaults ?? false) || this.drill !== null;
    const limit = options.workerFailureLimit ?? 3;
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`NafAgent: workerFailureLimit must be an integer >= 1, got ${limit}`);
    if (!(this.workerTimeoutMs > 0)) throw new Error(`NafAgent: workerTimeoutMs must be > 0, got ${this.workerTimeoutMs}`);
    if (threads === 2) {
      const lTop = Array.from({ length: net.specs.L.sizes.length - 1 - SPLIT_LAYER }, (_, i) => `L/${SPLIT_LAYER + i}/`);
      this.split = {
        mu: this.layout.range(['mu/']),
        lBelow: this.layout.range(Array.from({ length: SPLIT_LAYER }, (_, l) => `L/${l}/`)),
        lTop: this.layout.range(lTop),
        stats: this.statLayout.entries.filter((e) => e.name.startsWith('mu/') || e.name.startsWith('L/')).map((e) => [e.offset, e.offset + e.size]),
      };
      this.region = workerRegion(this.layout.size, this.statLayout.size, this.split.mu[1] - this.split.mu[0]);
      this.keeper = new HeadWorkerKeeper({ start: () => this.launchWorker(), limit, notify: (n) => this.notify(n) });
    } else {
      this.split = null;
      this.region = null;
      this.keeper = null;
    }
  }

  /**
   * Starts the second thread of a `threads: 2` agent (resolves when its tfjs backend is ready);
   * until then, and for minibatches above `MAX_BATCH`, updates run on the calling thread with the
   * same results. Idempotent.
   * @throws Error when the agent was built with threads = 1, or the worker cannot start
   */
  async startWorker(): Promise<void> {
    if (!this.keeper) throw new Error('NafAgent.startWorker: the agent was built with threads = 1');
    await this.keeper.startFirst();
  }

  /** One head-worker instance on this agent's state and worker region. */
  private launchWorker(): Promise<HeadWorker> {
    const cur = this.state.current;
    return HeadWorker.start({
      backend: tf.getBackend(),
      dX: this.dX,
      mu: this.net.specs.mu,
      L: this.net.specs.L,
      params: [...this.layout.entries],
      stats: [...this.statLayout.entries],
      adam: this.adam,
      memory: this.state.memory.memory,
      region: this.region!,
      testFaults: this.testWorkerFaults,
      buffers: { theta: cur.theta, m: cur.m, v: cur.v, target: cur.target },
      native: this.dense ? { V: this.net.specs.V, targetParams: [...this.targetLayout.entries] } : null,
    });
  }

  /** Linux thread ids of the agent's own worker threads (the head worker), for a node's scheduling. */
  override helperThreadIds(): number[] {
    const w = this.keeper?.live;
    return w?.tid != null ? [w.tid] : [];
  }

  /** Where the update's dense layers run: 'native' (a BLAS GEMM, `dense_step.ts`) or 'tfjs'. */
  get updatePath(): 'native' | 'tfjs' {
    return this.dense ? 'native' : 'tfjs';
  }

  /**
   * One line for the log: where the update runs and on how many threads, e.g. "NAF update: native
   * GEMM (OpenBLAS 0.3.21 ... SkylakeX), 2 threads", or "NAF update: tfjs (wasm), 1 thread".
   */
  describeUpdate(): string {
    const where = this.dense ? `native GEMM (${this.gemmName})` : `tfjs (${tf.getBackend()})`;
    const n = this.threadsInUse;
    return `NAF update: ${where}, ${n} thread${n === 1 ? '' : 's'}`;
  }

  /** 2 while the second thread is running, else 1. */
  get threadsInUse(): number {
    return this.keeper?.live ? 2 : 1;
  }

  /** Threads asked for and in use, head-worker failures, whether the agent stays on one thread for good. */
  override threadStatus(): ThreadStatus {
    return this.keeper?.status() ?? super.threadStatus();
  }

  /** Resolves when no head-worker restart is in flight (after a failure; tests, shutdown). */
  async whenWorkerSettled(): Promise<void> {
    await this.keeper?.settled();
  }

  /**
   * Tests only (`testWorkerFaults`): arms `fault` in the running head worker for the next update;
   * returns that worker's handle (`release` a stall, watch its `acks` and its exit).
   * @throws Error without `testWorkerFaults`, or when no head worker is running
   */
  injectWorkerFault(fault: HeadWorkerFault): HeadWorker {
    if (!this.testWorkerFaults) throw new Error('NafAgent.injectWorkerFault: the agent was not built with testWorkerFaults (a test-only option)');
    const w = this.keeper?.live;
    if (!w) throw new Error('NafAgent.injectWorkerFault: no head worker is running');
    w.inject(fault);
    return w;
  }

  /** Tests only (`testWorkerFaults`): the running head worker, to kill it between updates. */
  runningWorker(): HeadWorker | null {
    if (!this.testWorkerFaults) throw new Error('NafAgent.runningWorker: the agent was not built with testWorkerFaults (a test-only option)');
    return this.keeper?.live ?? null;
  }

  /** Current Adam learning rate (decays by `lrDecay` at each divergence-guard rollback). */
  get learningRate(): number {
    return this.lrs.lr;
  }

  /**
   * One guarded minibatch step (module docstring). A batch containing a non-finite number is
   * skipped and counted (weights and learning rate untouched: the data, not the network, is at
   * fault). A non-finite loss, gradient or batch statistic rolls back to the last good state,
   * multiplies the learning rate by `lrDecay` and is counted. Both return `skipped: true`. A
   * head-worker failure (two threads) is not an error of the update: the step is redone on this
   * thread (module docstring) and returns as usual.
   * A drill (`NAF_ROS_DRILL_HEAD_WORKER`, drill.ts) arms its fault in the head worker at the first
   * update numbered at or after its own.
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  update(batch: TransitionBatch): UpdateStats {
    return this.guardedUpdate(batch, (t) => {
      const b = this.networkBatch(batch);
      const w = this.keeper?.live;
      if (w && this.drill && this.updates >= this.drill.atUpdate) {
        w.inject(this.drill.fault);
        this.drill = null;
      }
      if (w && b.B <= MAX_BATCH) {
        const r = this.dense ? this.stepNativeTwoThreads(w, b, t) : this.stepTwoThreads(w, b, t);
        if (r) return r;
      }
      return this.step(b, t);
    });
  }

  /** The update on the calling thread (module docstring, steps 1-4), on a `networkBatch`. */
  private step(batch: TransitionBatch, t: number): StepResult {
    const { B } = batch;
    const { dX, dU } = this;
    const nL = lCount(dU);
    const cur = this.state.current;
    if (this.dense) {
      const r = this.dense.run(cur.theta, cur.target, batch, this.grad, (b, V, z, l, Vnext) => this.loss(b, V, z, l, Vnext));
      return { loss: r.loss, qMean: r.qMean, ok: this.networks.every((n) => this.optimize(n, t, this.lrs.lr)) };
    }
    let f: NafLossResult | undefined;
    tf.tidy(() => {
      const p = lookup(uploadTensors(this.layout, cur.theta, this.transposed), 'NafAgent');
      const Vnext = this.targetValue(batch);
      const collect = new Map<string, tf.Tensor>();
      const caches: NafCaches = {};
      const out = this.net.forward(p, featureMajor(batch.x, B, dX), ['V', 'mu', 'L'], { mode: 'batch', collect }, caches);
      f = this.loss(batch, out.V!.dataSync(), transpose2d(out.mu!.dataSync(), dU, B), transpose2d(out.L!.dataSync(), nL, B), Vnext);
      const grads = new Map<string, tf.Tensor>();
      const d: NafOutputs = { V: tf.tensor2d(f.dV, [1, B]), mu: featureMajor(f.dz, B, dU), L: featureMajor(f.dl, B, nL) };
      this.net.backward(p, caches, d, grads);
      downloadInto(this.layout, this.grad, grads);
      if (this.statLayout.size > 0) downloadInto(this.statLayout, this.batchStats, collect);
    });
    const ok = this.networks.every((r) => this.optimize(r, t, this.lrs.lr));
    return { loss: f!.loss, qMean: f!.qMean, ok };
  }

  /**
   * The same update on two threads (`parallel.ts`): V, V', the bottom of L's backward pass and the
   * Adam steps of V and L here; mu, L, the rest of their backward passes and mu's Adam step (into
   * the worker region, copied into the state here) in the worker. Same results as `step` (each head
   * is its own network for clipping, and Adam is elementwise).
   *
   * When the worker fails (`HeadWorkerError`) the worker is abandoned, the step undone
   * (`abortStep`: the state as before it, bit for bit; nothing the worker does later reaches it,
   * `parallel.ts`) and null returned, so that the caller redoes the step on this thread. When this
   * thread throws, the worker is first brought to the end of that update (it then stays in use;
   * should that fail, it is abandoned) and the error propagates (the caller undoes the step).
   * @returns the step's result, or null after a worker failure (state restored)
   */
  private stepTwoThreads(w: HeadWorker, batch: TransitionBatch, t: number): StepResult | null {
    const { B } = batch;
    const { dX, dU } = this;
    const nL = lCount(dU);
    const region = this.region!;
    const split = this.split!;
    const timeout = this.workerTimeoutMs;
    const { xT, out, dOut, params, ctrl, lHidden, lZHat, lInvStd, lG } = w.data.buffers;
    let backwardSent = false;
    let acks = 0;
    try {
      w.check(); // a worker that died between updates
      xT.set(transpose2d(batch.x, B, dX));
      this.setStepParams(params, B, t);
      acks = w.acks();
      w.send(CMD.UPDATE);
      this.state.beginStep({ adamT: this.adamT }); // before this thread writes the state
      const cur = this.state.current;
      const Lspec = this.net.specs.L;
      const lBelow = Array.from({ length: SPLIT_LAYER }, (_, l) => `L/${l}/`);
      let f: NafLossResult | undefined;
      tf.tidy(() => {
        const p = lookup(uploadTensors(this.layout, cur.theta, this.transposed, ['V/']), 'NafAgent');
        const Vnext = this.targetValue(batch);
        const collect = new Map<string, tf.Tensor>();
        const caches: NafCaches = {};
        const x = featureMajor(batch.x, B, dX);
        const V = this.net.forward(p, x, ['V'], { mode: 'batch', collect }, caches).V!.dataSync();
        w.waitAck(acks + 1, timeout);
        for (const [a, z] of split.stats) this.batchStats.set(region.stats.subarray(a, z), a);
        f = this.loss(batch, V, transpose2d(out.subarray(0, dU * B), dU, B), transpose2d(out.subarray(dU * B, (dU + nL) * B), nL, B), Vnext);
        dOut.set(transpose2d(f.dz, B, dU), 0);
        dOut.set(transpose2d(f.dl, B, nL), dU * B);
        w.send(CMD.BACKWARD);
        backwardSent = true;
        const grads = new Map<string, tf.Tensor>();
        this.net.backward(p, caches, { V: tf.tensor2d(f.dV, [1, B]) }, grads, ['V']);
        downloadInto(this.layout, this.grad, grads, ['V/']);
        if (this.statLayout.size > 0) downloadInto(this.statLayout, this.batchStats, collect, ['V/']);
        // L below SPLIT_LAYER, from the worker's G and L's layer-0 cache.
        const h = Lspec.sizes[1];
        const c0: LayerCache = { input: x, output: tf.tensor2d(lHidden.subarray(0, h * B), [h, B]) };
        if (Lspec.batchNorm) {
          c0.zHat = tf.tensor2d(lZHat.subarray(0, h * B), [h, B]);
          c0.invStd = tf.tensor2d(lInvStd, [h, 1]);
        }
        const pL = lookup(uploadTensors(this.layout, cur.theta, [], [...lBelow, `L/${SPLIT_LAYER}/`]), 'NafAgent');
        w.waitAck(acks + 2, timeout);
        const gRows = Lspec.sizes[SPLIT_LAYER + 1];
        mlpBackwardBelow(Lspec, pL, [c0], SPLIT_LAYER, tf.tensor2d(lG.subarray(0, gRows * B), [gRows, B]), grads);
        downloadInto(this.layout, this.grad, grads, lBelow);
      });
      const [V, , L] = this.networks;
      let ok = this.optimize(V, t, this.lrs.lr);
      const norm2 = sumSquares(this.grad, split.lBelow[0], split.lBelow[1]);
      w.waitAck(acks + 3, timeout);
      this.grad.set(region.grad.subarray(split.lTop[0], split.lTop[1]), split.lTop[0]);
      const normL = norm2 + params[PARAM.NORM2_L_TOP];
      ok = normL <= F32_MAX && this.adamRange(L, t, this.lrs.lr, clipScale(Math.sqrt(normL), this.gradClipNorm)) && ok;
      w.waitAck(acks + 4, timeout);
      // mu's Adam step, proposed by the worker in its region (after acknowledgement 4 of this update)
      const [m0] = split.mu;
      cur.theta.set(region.theta, m0);
      cur.m.set(region.m, m0);
      cur.v.set(region.v, m0);
      this.keeper!.succeeded();
      return { loss: f!.loss, qMean: f!.qMean, ok: ok && Atomics.load(ctrl, SLOT.FINITE) === 1 };
    } catch (e) {
      return this.onStepError(e, () => {
        if (!backwardSent) w.send(CMD.SKIP);
        w.waitAck(acks + (backwardSent ? 4 : 2), timeout);
      });
    }
  }

  /** The update's constants for the worker: batch size, Adam step number, learning rate, clipping norm. */
  private setStepParams(params: Float64Array, B: number, t: number): void {
    params[PARAM.B] = B;
    params[PARAM.T] = t;
    params[PARAM.LR] = this.lrs.lr;
    params[PARAM.CLIP] = this.gradClipNorm;
  }

  /**
   * The two-thread steps' rule for an error: a worker failure (`HeadWorkerError`) abandons the
   * worker and undoes the step — null, so that the caller redoes it on this thread; any other
   * error (of this thread) first brings the worker to the end of its update (`finish`: should that
   * fail, the worker is abandoned) and then propagates (the caller undoes the step).
   * @throws the error given, when it is not a HeadWorkerError
   */
  private onStepError(e: unknown, finish: () => void): null {
    if (e instanceof HeadWorkerError) {
      this.keeper!.failed(e, this.updates);
      this.state.abortStep();
      return null;
    }
    try {
      finish();
    } catch (e2) {
      if (e2 instanceof HeadWorkerError) this.keeper!.failed(e2, this.updates, false);
    }
    throw e;
  }

  /**
   * The native path's update on two threads (`parallel.ts`, "On the native path"): mu and L in the
   * worker, V, V', the loss and the Adam steps here. Failures as in `stepTwoThreads`.
   * @returns the step's result, or null after a worker failure (state restored)
   */
  private stepNativeTwoThreads(w: HeadWorker, batch: TransitionBatch, t: number): StepResult | null {
    const { B } = batch;
    const { dX, dU } = this;
    const nL = lCount(dU);
    const dense = this.dense!;
    const { xT, x2, out, dOut, params } = w.data.buffers;
    const region = this.region!;
    let sent = false;
    let backwardSent = false;
    let acks = 0;
    try {
      w.check(); // a worker that died between updates
      xT.set(batch.x.subarray(0, B * dX));
      x2.set(batch.x2.subarray(0, B * dX));
      this.setStepParams(params, B, t);
      acks = w.acks();
      w.send(CMD.UPDATE);
      sent = true;
      this.state.beginStep({ adamT: this.adamT }); // before this thread writes the state
      const cur = this.state.current;
      const V = dense.forward(cur.theta, batch.x, B, ['V']).V!;
      w.waitAck(acks + 1, this.workerTimeoutMs);
      const f = this.loss(batch, V, out.subarray(0, dU * B), out.subarray(dU * B, (dU + nL) * B), out.subarray((dU + nL) * B, (dU + nL + 1) * B));
      dOut.set(f.dz, 0);
      dOut.set(f.dl, dU * B);
      w.send(CMD.BACKWARD);
      backwardSent = true;
      dense.backward(cur.theta, { V: f.dV }, this.grad);
      const ok = this.optimize(this.networks[0], t, this.lrs.lr);
      w.waitAck(acks + 2, this.workerTimeoutMs);
      // mu's and L's gradients, from the worker's region (after acknowledgement 2)
      const [, muR, LR] = this.networks;
      this.grad.set(region.grad.subarray(muR[0], LR[1]), muR[0]);
      let good = ok;
      for (const [range, norm2] of [[muR, params[PARAM.NORM2_MU]], [LR, params[PARAM.NORM2_L_TOP]]] as const) {
        good = norm2 <= F32_MAX && this.adamRange(range, t, this.lrs.lr, clipScale(Math.sqrt(norm2), this.gradClipNorm)) && good;
      }
      this.keeper!.succeeded();
      return { loss: f.loss, qMean: f.qMean, ok: good };
    } catch (e) {
      return this.onStepError(e, () => {
        if (sent && !backwardSent) w.send(CMD.SKIP);
        if (sent) w.waitAck(acks + 2, this.workerTimeoutMs);
      });
    }
  }

  /** V'(x') [B] of the target network (batch norm with the x' minibatch's statistics). Call inside `tf.tidy`. */
  private targetValue(batch: TransitionBatch): Float32Array {
    const target = lookup(uploadTensors(this.targetLayout, this.state.current.target, this.targetTransposed), 'NafAgent target');
    return this.net.forward(target, featureMajor(batch.x2, batch.B, this.dX), ['V'], { mode: 'batch' }).V!.dataSync() as Float32Array;
  }

  private loss(batch: TransitionBatch, V: ArrayLike<number>, z: ArrayLike<number>, l: ArrayLike<number>, Vnext: ArrayLike<number>): NafLossResult {
    return nafLoss(this.heads, { N: batch.B, V, z, l, Vnext, u: batch.u, r: batch.r, terminal: batch.terminal, gamma: this.gamma });
  }

  /**
   * Greedy actions mu(x): x [N*dX] -> [N*dU] N·m (batch norm in inference mode).
   * @throws Error when x is not a Float32Array of N*dX values.
   */
  actBatch(x: Float32Array, N: number): Float32Array {
    const o = this.evaluate('NafAgent.actBatch', x, N, ['mu']);
    return Float32Array.from(muFromZ(this.heads, o.mu!, N), (a, i) => a * this.actionScale[i % this.dU]);
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
    const a = Float32Array.from(u, (v, i) => v / this.actionScale[i % this.dU]);
    const A = advantage(this.heads, lowerFromL(this.heads, o.L!, N), muFromZ(this.heads, o.mu!, N), a, N);
    return Float32Array.from(A, (v, i) => v + o.V![i]);
  }

  /**
   * L(x) row-major [N*dU*dU] in torque units: lower-triangular, positive diagonal, with
   * P = L L^T such that A = -1/2 (u - mu)^T P (u - mu) for u in N·m (the network's L, rows
   * divided by the action scale). For tests and actors.
   */
  lowerTriangular(x: Float32Array, N: number): Float32Array {
    const { dU } = this;
    const L = lowerFromL(this.heads, this.evaluate('NafAgent.lowerTriangular', x, N, ['L']).L!, N);
    return Float32Array.from(L, (v, i) => v / this.actionScale[Math.floor(i / dU) % dU]);
  }

  /** Raw head outputs (V [N], z [N*dU], l [N*nL], row-major) of the online network in inference mode. */
  private evaluate(who: string, x: Float32Array, N: number, which: NafHead[]): { V?: Float32Array; mu?: Float32Array; L?: Float32Array } {
    checkInputs(who, x, N, this.dX);
    const p = lookup(this.currentTensors(this.transposed), who);
    const out: { V?: Float32Array; mu?: Float32Array; L?: Float32Array } = {};
    tf.tidy(() => {
      const o = this.net.forward(p, featureMajor(this.networkObs(x, N), N, this.dX), which, { mode: 'running', stats: p });
      for (const h of which) out[h] = transpose2d(o[h]!.dataSync(), o[h]!.shape[0], N);
    });
    return out;
  }

  /**
   * Policy snapshot for `createActor`: heads mu and L (and trunk when shared) as dense layers;
   * meta = { architecture, activation: 'relu', lDiag: [lo, hi], batchNorm, bnEps,
   * bn: { head: (BnLayer | null)[] }, actionScale, obsNorm? } with the running batch-norm and
   * observation statistics. V is not included. `averaged`: the policy-averaged weights (when
   * averaging has started; `greedySnapshot`).
   */
  snapshot(averaged = false): PolicySnapshot {
    const heads: PolicySnapshot['heads'] = {};
    const bn: Record<string, (BnLayer | null)[]> = {};
    for (const [name, spec] of Object.entries(this.net.specs)) {
      if (name === 'V') continue;
      const s = mlpSnapshot(spec, (n) => this.readParam(n, averaged), (n) => this.readStat(n));
      heads[name] = s.layers;
      bn[name] = s.bn;
    }
    const cfg = this.net.cfg;
    return {
      kind: 'naf',
      dX: this.dX,
      dU: this.dU,
      uMax: Float64Array.from(this.uMax),
      version: this.updates,
      heads,
      meta: { architecture: cfg.architecture, activation: 'relu', lDiag: [...this.heads.lDiag], batchNorm: cfg.batchNorm, bnEps: BN_EPS, bn, ...this.unitsMeta() },
    };
  }

  override dispose(): void {
    this.keeper?.dispose();
    super.dispose();
  }

  /** The greedy policy: the averaged weights when policy averaging has started, else the online ones. */
  greedySnapshot(): PolicySnapshot {
    return this.snapshot(this.averaging);
  }
}
