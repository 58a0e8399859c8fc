/**
 * The NAF update on two threads: the calling thread computes V, the target V', the
 * bottom layer of L's backward pass and the Adam steps of V and L; a worker thread
 * (`head_worker.ts`, its own tfjs backend) computes the mu and L heads, the rest of their backward
 * passes and mu's Adam step. The heads of the 'separate' architecture share no weights and each is
 * clipped as its own network, so this is model parallelism with a few hand-offs:
 *
 *   main                                      worker
 *   UPDATE ──────────────────────────────────▶ forward mu, L on x^T -> z^T, l^T, L's h_1 (shared)
 *   save the state (memcpy)                    ...
 *   forward V', V                              ...
 *   wait ack 1 ◀────────────────────────────── forward done
 *   nafLoss -> dz^T, dl^T, BACKWARD ──────────▶ L: top layers down to G_1 = dloss/d(pre-act. 1); ack 2
 *   backward V; Adam V                         L: layer 1's weight gradient, ||grad||^2 of L's
 *   wait ack 2; L's layer 0 from G_1             layers >= 1; ack 3
 *     (W_1 G_1, then layer 0's gradient)       backward mu; Adam mu into the worker's region
 *   wait ack 3; Adam L                         ack 4 (finite flag)
 *   wait ack 4; mu's new weights and moments
 *     from the worker's region into the state
 *
 * Balance ([200x200]-by-batch products, the bulk of the work): forward 2 and 2; backward 3 and 3
 * (V's two and L's W_1 G_1 here; L's layer-1 weight gradient and mu's two there); Adam on two
 * networks here, one there. Weights and moments live in one shared WebAssembly memory (`FlatState`
 * with `shared`), which the worker attaches and only reads.
 *
 * **Failures.** A worker fails by throwing in its step (it sets the error flag), by
 * dying (`process.exit`, a crash: its exit hook sets the flag; a death between updates is seen at
 * the next one), or by not answering within the timeout (a stall, a hang). Each is a
 * `HeadWorkerError` at the calling thread, which then *abandons* that worker (EXIT, terminate),
 * undoes the step (`FlatState.abortStep`: weights, moments, target, statistics as before it; the
 * Adam step count and the counters only move at commit) and redoes it on its own thread; the
 * owner (`head_keeper.ts`) restarts the worker or, after repeated failures, stays on one thread.
 *
 * Why nothing an abandoned worker does can reach the learner — the two rules this design rests on:
 *  1. **A worker writes only memory of its own**: its instance's control block and hand-off buffers
 *     (fresh SharedArrayBuffers per start) and the *worker region* (`WorkerRegion`: its gradients,
 *     batch statistics, and mu's Adam step written as a proposal, on a memory apart from the
 *     state). It never writes the learner's weights, moments, gradient or statistics: the calling
 *     thread copies mu's proposal and the worker's gradients in, after that update's acknowledgement
 *     from that instance.
 *  2. **An abandoned instance is never read again, and the region is handed to a new instance only
 *     after the old thread has exited** (its 'exit' event; `head_keeper.ts` waits for it).
 * A worker that wakes after the timeout may still finish its step — compute, write its region,
 * acknowledge — but the calling thread has stopped reading that instance, and the next instance
 * cannot start before the thread is gone. Its acknowledgements go to its own control block, so
 * they cannot shift the next update's count (each instance counts from 0). The restored state is
 * therefore the state before the step, bit for bit, whatever the worker does afterwards; and no
 * timing assumption enters (terminate is asynchronous, so the proof does not rely on it: it only
 * frees the thread sooner).
 *
 * Copies this costs per update: mu's weights and moments into the region (worker) and back
 * (main), L's top-layer gradient (main): ~4 x 43k floats on the reacher's 200x200 heads, a few
 * tens of microseconds, beside the update's milliseconds. Adam still runs as the same in-place SIMD
 * kernel (`nn/kernels.ts`) on the same float32 values, so results are unchanged.
 *
 * **On the native path** (`dense_step.ts`: a BLAS GEMM on both threads, no batch norm) the split
 * is by whole networks, with two hand-offs:
 *
 *   main                                      worker
 *   UPDATE ──────────────────────────────────▶ forward mu, L on x -> z, l; target V' on x' -> V'
 *   save the state; forward V                    (row-major, `out`); ack 1
 *   wait ack 1; nafLoss -> dz, dl, BACKWARD ──▶ backward mu, L into the region's grad;
 *   backward V; Adam V                            ||grad||^2 of mu and of L; ack 2
 *   wait ack 2; mu's and L's gradients from
 *     the region; Adam mu, L (clipped apart)
 *
 * (x, x' and the outputs travel row-major: [B, dX] in `xT` and `x2`; [B, dU], [B, nL], then [B]
 * in `out`; dz, dl in `dOut`.) Every product keeps the whole minibatch (a GEMM over half of it
 * costs ~2/3 of the whole one here). What crosses between the cores is kept to the gradients:
 * the worker proposing mu's and L's Adam steps instead (as the tfjs path does for mu) moves three
 * times as many floats, and cache lines written by the other core cost ~1 ns per float to read
 * here (measured: 1.5 vs 0.75 ms per update). The same failure handling and rules hold.
 *
 * Waiting is `Atomics.wait` (allowed in Node's main thread and in workers) with a timeout.
 *
 * Test hooks: a worker started with `testFaults` understands a fault armed in its control block
 * (`HeadWorkerFault`: throw, exit, or stall at a phase of the next update); without the flag the
 * worker never reads those slots and `inject` throws.
 */
import { Worker } from 'node:worker_threads';
import type { AdamConfig } from '../../nn/adam.js';
import { sharedFloat32 } from '../../nn/flat_state.js';
import { alignedFloats, KernelMemory } from '../../nn/kernels.js';
import type { LayoutEntry } from '../../nn/layout.js';
import type { MlpSpec } from '../../nn/mlp.js';

/** Commands (ctrl[CMD]). SKIP ends an update after its forward pass (the main thread failed). */
export const CMD = { UPDATE: 1, BACKWARD: 2, SKIP: 3, EXIT: 4 } as const;
/**
 * Int32 slots of the control array: the command and its sequence number (main -> worker), the
 * worker's acknowledgement counter (one per phase), the error flag (`ERR`), the finite flag of the
 * worker's Adam step; then the test-only fault slots (read only by a worker started with
 * `testFaults`): the fault kind (`FAULT`), the phase it fires at, and its release flag.
 */
export const SLOT = { CMD: 0, CMD_SEQ: 1, ACK: 2, ERROR: 3, FINITE: 4, FAULT_KIND: 5, FAULT_PHASE: 6, FAULT_RELEASE: 7 } as const;
/** Values of ctrl[ERROR]: the worker threw (its message in `error`), or its thread exited. */
export const ERR = { NONE: 0, THREW: 1, EXITED: 2 } as const;
/** Test-only fault kinds (ctrl[FAULT_KIND]). */
export const FAULT = { NONE: 0, THROW: 1, EXIT: 2, STALL: 3 } as const;
/**
 * Float64 slots of the parameter array, from the worker: NORM2_L_TOP ||grad||^2 of L's layers >= 1
 * (of all of L on the native path), NORM2_MU ||grad||^2 of mu (native path).
 */
export const PARAM = { B: 0, T: 1, LR: 2, CLIP: 3, NORM2_L_TOP: 4, NORM2_MU: 5 } as const;
/** Largest minibatch the shared scratch holds; larger batches run on one thread. */
export const MAX_BATCH = 1024;
/** The layer of L at which the backward pass is handed over: G of its pre-activation goes to the main thread. */
export const SPLIT_LAYER = 1;
/**
 * How long a thread polls a control slot before it sleeps on it (`Atomics.wait`), ms: a hand-off
 * the other thread answers within this time costs no futex sleep and wake-up, which on a virtual
 * machine took tens of microseconds per hand-off; the longest a thread burns a core for nothing.
 */
export const SPIN_MS = 0.2;

/** Polls ctrl[slot] until it differs from `from` or `ms` pass; true when it changed. */
export function spinUntilChanged(ctrl: Int32Array, slot: number, from: number, ms: number): boolean {
  const end = performance.now() + ms;
  do {
    for (let i = 0; i < 64; i++) if (Atomics.load(ctrl, slot) !== from) return true;
  } while (performance.now() < end);
  return false;
}

/** Default of how long the calling thread waits for one acknowledgement, ms. */
export const DEFAULT_TIMEOUT_MS = 30000;

/**
 * A fault for a worker started with `testFaults` (tests only), fired once at `phase` of the next
 * update: 1-4 = just before acknowledgement 1-4 (phase 4: before mu's Adam step). `stall` waits
 * there until `release()` (or the thread is terminated), then finishes the update as if nothing
 * happened — its late writes and acknowledgements. With `late: true` the stalled worker is not
 * terminated when abandoned (it exits on its own after the release), so a test can watch the
 * late writes happen and land nowhere.
 */
export type HeadWorkerFault =
  | { kind: 'throw' | 'exit'; phase: 1 | 2 | 3 | 4 }
  | { kind: 'stall'; phase: 1 | 2 | 3 | 4; late?: boolean };

/** How a head worker failed, as the calling thread saw it. */
export type HeadWorkerFailure = 'error' | 'exit' | 'timeout';

/** A failure of the head worker (its exception, its death, or no answer in time): the worker is to be abandoned. */
export class HeadWorkerError extends Error {
  /** @param reason what happened (first line), then any detail (the worker's stack) */
  constructor(readonly failure: HeadWorkerFailure, readonly reason: string) {
    super(`NAF head worker: ${reason}`);
    this.name = 'HeadWorkerError';
  }
}

/**
 * The memory only the worker writes (rule 1 of the module doc), on its own shared wasm memory so
 * that mu's Adam step runs there as the in-place kernel: `grad` (layout of theta: mu's and L's
 * top layers' gradients — all of mu's and L's on the native path), `stats` (layout of the batch
 * statistics: mu's and L's), and mu's Adam step on the tfjs path (`theta`, `m`, `v`: mu's range
 * only, index 0 = mu's first weight).
 */
export interface WorkerRegion {
  memory: WebAssembly.Memory;
  grad: Float32Array;
  stats: Float32Array;
  theta: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** A worker region for `params` floats of parameters, `stats` of statistics and a mu network of `mu` weights. */
export function workerRegion(params: number, stats: number, mu: number): WorkerRegion {
  const k = KernelMemory.create(alignedFloats(params) + alignedFloats(stats) + 3 * alignedFloats(mu), true);
  return { memory: k.memory, grad: k.alloc(params), stats: k.alloc(stats), theta: k.alloc(mu), m: k.alloc(mu), v: k.alloc(mu) };
}

/** Everything the worker is started with (structured-cloned; the buffers are shared). */
export interface HeadWorkerData {
  backend: string;
  dX: number;
  /** the worker's heads: mu (backward pass and Adam step here) and L (backward pass down to SPLIT_LAYER here) */
  mu: MlpSpec;
  L: MlpSpec;
  /** the native path's split (module doc): the V network and the target layout (for V'), or null */
  native: { V: MlpSpec; targetParams: LayoutEntry[] } | null;
  /** the full parameter and statistics layouts (the worker uses its heads' entries) */
  params: LayoutEntry[];
  stats: LayoutEntry[];
  adam: AdamConfig;
  /** the learner's state memory, read only: `buffers.theta`, `m`, `v` are views on it (`nn/kernels.ts`) */
  memory: WebAssembly.Memory;
  /** what this worker writes besides its instance buffers (module doc, rule 1) */
  region: WorkerRegion;
  /** tests only: the worker reads the fault slots of its control block */
  testFaults: boolean;
  buffers: {
    theta: Float32Array; m: Float32Array; v: Float32Array;
    /** the target network's weights (read on the native path) */ target: Float32Array;
    /** x^T [dX, B] (x [B, dX] on the native path) */ xT: Float32Array;
    /** x' [B, dX] (native path) */ x2: Float32Array;
    /** outputs of the worker's heads, feature-major: z^T [dU, B] then l^T [nL, B] */ out: Float32Array;
    /** dloss/d(outputs), same layout */ dOut: Float32Array;
    /** L's layer-0 cache for the main thread: output h_1 [h, B]; with batch norm also ẑ [h, B] and 1/std [h] */
    lHidden: Float32Array; lZHat: Float32Array; lInvStd: Float32Array;
    /** G = dloss/d(pre-activation of L's layer SPLIT_LAYER) [out, B] */ lG: Float32Array;
    ctrl: Int32Array; params: Float64Array; error: Uint8Array;
  };
}

/** What starting a worker takes: everything but the per-instance buffers. */
export type HeadWorkerArgs = Omit<HeadWorkerData, 'buffers'> & { buffers: Pick<HeadWorkerData['buffers'], 'theta' | 'm' | 'v' | 'target'> };

/** Main-thread handle of one head worker instance. */
export class HeadWorker {
  private abandoned = false;
  private injected: HeadWorkerFault | null = null;
  /** exit code once the thread has exited, else null */
  private code: number | null = null;
  /** Resolves with the exit code when the thread has exited (never rejects). */
  readonly exited: Promise<number>;

  private constructor(
    private readonly worker: Worker,
    readonly data: HeadWorkerData,
    /** the worker thread's Linux thread id (null elsewhere) */
    readonly tid: number | null,
    exited: Promise<number>,
  ) {
    this.exited = exited.then((c) => (this.code = c));
  }

  /**
   * Starts a worker and waits until its tfjs backend is ready.
   * @param args.buffers the learner's state (`FlatState` current), views on `args.memory`
   * @throws Error when the worker cannot start (its message)
   */
  static async start(args: HeadWorkerArgs): Promise<HeadWorker> {
    const rows = args.mu.sizes[args.mu.sizes.length - 1] + args.L.sizes[args.L.sizes.length - 1];
    const hidden = args.L.sizes[1];
    const bn = args.L.batchNorm ? 1 : 0;
    const data: HeadWorkerData = {
      ...args,
      buffers: {
        ...args.buffers,
        xT: sharedFloat32(args.dX * MAX_BATCH),
        x2: sharedFloat32(args.native ? args.dX * MAX_BATCH : 0),
        out: sharedFloat32((rows + 1) * MAX_BATCH),
        dOut: sharedFloat32(rows * MAX_BATCH),
        lHidden: sharedFloat32(hidden * MAX_BATCH),
        lZHat: sharedFloat32(bn * hidden * MAX_BATCH),
        lInvStd: sharedFloat32(bn * hidden),
        lG: sharedFloat32(args.L.sizes[SPLIT_LAYER + 1] * MAX_BATCH),
        ctrl: new Int32Array(new SharedArrayBuffer(4 * 8)),
        params: new Float64Array(new SharedArrayBuffer(8 * 8)),
        error: new Uint8Array(new SharedArrayBuffer(2048)),
      },
    };
    const worker = new Worker(new URL('./head_worker_boot.mjs', import.meta.url), { workerData: data });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    worker.on('error', () => { /* reported through ctrl[ERROR] (exit hook) or as a failed start */ });
    let tid: number | null;
    try {
      tid = await new Promise<number | null>((resolve, reject) => {
        worker.once('message', (m: { ready?: boolean; tid?: number | null; error?: string }) => (m.ready ? resolve(m.tid ?? null) : reject(new Error(`NAF head worker: ${m.error}`))));
        worker.once('error', (e) => reject(new Error(`NAF head worker: ${e.message}`)));
        void exited.then((c) => reject(new Error(`NAF head worker: exited (code ${c}) while starting`)));
      });
    } catch (e) {
      // A worker that did not start is gone before the caller may start another on the same region.
      await worker.terminate().catch(() => undefined);
      await exited;
      throw e;
    }
    worker.unref();
    return new HeadWorker(worker, data, tid, exited);
  }

  /** True once the thread has exited (known after the event loop has seen its 'exit' event). */
  get hasExited(): boolean {
    return this.code !== null;
  }

  /** Sends a command (parameters already written to `data.buffers.params`); returns its sequence number. */
  send(cmd: number): number {
    const c = this.data.buffers.ctrl;
    Atomics.store(c, SLOT.CMD, cmd);
    const seq = Atomics.add(c, SLOT.CMD_SEQ, 1) + 1;
    Atomics.notify(c, SLOT.CMD_SEQ);
    return seq;
  }

  /** The worker's acknowledgement counter now (counted from 0 by this instance). */
  acks(): number {
    return Atomics.load(this.data.buffers.ctrl, SLOT.ACK);
  }

  /**
   * Blocks until the acknowledgement counter reaches `ack`.
   * @throws HeadWorkerError 'error' with the worker's message when it threw, 'exit' when its thread
   *   exited, 'timeout' after `timeoutMs` without the acknowledgement
   */
  waitAck(ack: number, timeoutMs = DEFAULT_TIMEOUT_MS): void {
    const c = this.data.buffers.ctrl;
    const deadline = performance.now() + timeoutMs;
    for (let now = Atomics.load(c, SLOT.ACK); now < ack && !Atomics.load(c, SLOT.ERROR); now = Atomics.load(c, SLOT.ACK)) {
      const left = deadline - performance.now();
      if (left <= 0) throw new HeadWorkerError('timeout', `no answer within ${timeoutMs} ms (waiting for acknowledgement ${ack}, at ${now})`);
      if (!spinUntilChanged(c, SLOT.ACK, now, Math.min(SPIN_MS, left)) && !Atomics.load(c, SLOT.ERROR)) Atomics.wait(c, SLOT.ACK, now, left);
    }
    this.check();
  }

  /** @throws HeadWorkerError when the worker has reported a failure (it threw, or its thread exited). */
  check(): void {
    const c = this.data.buffers.ctrl;
    const err = Atomics.load(c, SLOT.ERROR);
    if (err === ERR.NONE && this.code === null) return;
    if (err === ERR.THREW) throw new HeadWorkerError('error', this.message());
    throw new HeadWorkerError('exit', err === ERR.EXITED ? this.message() : `its thread exited (code ${this.code})`);
  }

  /**
   * Gives this instance up after a failure (module doc, rule 2): the caller reads none of its
   * buffers again. Sends EXIT and terminates the thread (not a stalled one armed with `late`,
   * which a test releases and which then exits by itself).
   * @returns the thread's exit (the worker region is free from then on)
   */
  abandon(): Promise<number> {
    this.abandoned = true;
    this.send(CMD.EXIT);
    // Its exit is awaited (the restart waits for it): keep the event loop alive until then.
    this.worker.ref();
    if (!(this.injected?.kind === 'stall' && this.injected.late)) void this.worker.terminate().catch(() => undefined);
    return this.exited;
  }

  /** True once `abandon` was called. */
  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /** Stops the worker (no wait). */
  close(): void {
    this.send(CMD.EXIT);
    void this.worker.terminate().catch(() => undefined);
  }

  /**
   * Tests only: arms `fault` for this worker's next update.
   * @throws Error unless the worker was started with `testFaults`
   */
  inject(fault: HeadWorkerFault): void {
    if (!this.data.testFaults) throw new Error('HeadWorker.inject: the worker was not started with testFaults (a test-only option)');
    const c = this.data.buffers.ctrl;
    this.injected = fault;
    Atomics.store(c, SLOT.FAULT_RELEASE, 0);
    Atomics.store(c, SLOT.FAULT_PHASE, fault.phase);
    Atomics.store(c, SLOT.FAULT_KIND, { throw: FAULT.THROW, exit: FAULT.EXIT, stall: FAULT.STALL }[fault.kind]);
  }

  /** Tests only: lets a stalled worker go on. */
  release(): void {
    const c = this.data.buffers.ctrl;
    Atomics.store(c, SLOT.FAULT_RELEASE, 1);
    Atomics.notify(c, SLOT.FAULT_RELEASE);
  }

  /** Tests only: terminates the thread now, as a crash would (resolves with its exit code). */
  kill(): Promise<number> {
    void this.worker.terminate().catch(() => undefined);
    return this.exited;
  }

  /** The worker's error text (first line first; its stack follows). */
  private message(): string {
    const bytes = this.data.buffers.error;
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end));
  }
}
