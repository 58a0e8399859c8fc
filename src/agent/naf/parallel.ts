/**
 * The NAF update on two threads: the calling thread computes V, the target V', the
 * bottom layer of L's backward pass and the Adam steps of V and L; a worker thread
 * (`head_worker.ts`, its own tfjs backend) computes the mu and L heads, the rest of their backward
 * passes and mu's Adam step. The heads of the 'separate' architecture share no weights and each is
 * clipped as its own network, so this is model parallelism with a few hand-offs:
 *
 *   main                                      worker
 *   UPDATE ──────────────────────────────────▶ forward mu, L on x^T -> z^T, l^T, L's h_1 (shared)
 *   save the state (memcpy), SAVED ───────────▶ ...
 *   forward V', V                              ...
 *   wait ack 1 ◀────────────────────────────── forward done
 *   nafLoss -> dz^T, dl^T, BACKWARD ──────────▶ L: top layers down to G_1 = dloss/d(pre-act. 1); ack 2
 *   backward V; Adam V                         L: layer 1's weight gradient, ||grad||^2 of L's
 *   wait ack 2; L's layer 0 from G_1             layers >= 1; ack 3
 *     (W_1 G_1, then layer 0's gradient)       backward mu; Adam mu (after SAVED)
 *   wait ack 3; Adam L                         ack 4 (finite flag)
 *   wait ack 4
 *
 * Balance ([200x200]-by-batch products, the bulk of the work): forward 2 and 2; backward 3 and 3
 * (V's two and L's W_1 G_1 here; L's layer-1 weight gradient and mu's two there); Adam on two
 * networks here, one there. Weights, moments and the gradient live in one shared WebAssembly
 * memory (`FlatState` with `shared`; the worker attaches it, so its Adam step runs as the same
 * SIMD kernel, `nn/kernels.ts`), so only head outputs, L's first hidden layer and the gradients at
 * the hand-offs are copied between threads. Waiting is `Atomics.wait` (allowed in Node's main
 * thread and in workers) with a timeout: a worker that dies or hangs becomes an Error, not a hang.
 */
import { Worker } from 'node:worker_threads';
import type { AdamConfig } from '../../nn/adam.js';
import { sharedFloat32 } from '../../nn/flat_state.js';
import type { LayoutEntry } from '../../nn/layout.js';
import type { MlpSpec } from '../../nn/mlp.js';

/** Commands (ctrl[CMD]). SKIP ends an update after its forward pass (the main thread failed). */
export const CMD = { UPDATE: 1, BACKWARD: 2, SKIP: 3, EXIT: 4 } as const;
/**
 * Int32 slots of the control array: the command and its sequence number (main -> worker), the
 * worker's acknowledgement counter (one per phase), an error flag, the finite flag of the worker's
 * Adam step, and the sequence number of the UPDATE whose state the main thread has saved.
 */
export const SLOT = { CMD: 0, CMD_SEQ: 1, ACK: 2, ERROR: 3, FINITE: 4, SAVED: 5 } as const;
/** Float64 slots of the parameter array (NORM2_L_TOP: ||grad||^2 of L's layers >= 1, from the worker). */
export const PARAM = { B: 0, T: 1, LR: 2, CLIP: 3, NORM2_L_TOP: 4 } as const;
/** Largest minibatch the shared scratch holds; larger batches run on one thread. */
export const MAX_BATCH = 1024;
/** The layer of L at which the backward pass is handed over: G of its pre-activation goes to the main thread. */
export const SPLIT_LAYER = 1;

/** Everything the worker is started with (structured-cloned; the buffers are shared). */
export interface HeadWorkerData {
  backend: string;
  dX: number;
  /** the worker's heads: mu (backward pass and Adam step here) and L (backward pass down to SPLIT_LAYER here) */
  mu: MlpSpec;
  L: MlpSpec;
  /** the full parameter and statistics layouts (the worker uses its heads' entries) */
  params: LayoutEntry[];
  stats: LayoutEntry[];
  adam: AdamConfig;
  /** the shared memory `buffers.theta`, `m`, `v`, `grad` and `batchStats` are views on (`nn/kernels.ts`) */
  memory: WebAssembly.Memory;
  buffers: {
    theta: Float32Array; m: Float32Array; v: Float32Array; grad: Float32Array; batchStats: Float32Array;
    /** x^T [dX, B] */ xT: Float32Array;
    /** outputs of the worker's heads, feature-major: z^T [dU, B] then l^T [nL, B] */ out: Float32Array;
    /** dloss/d(outputs), same layout */ dOut: Float32Array;
    /** L's layer-0 cache for the main thread: output h_1 [h, B]; with batch norm also ẑ [h, B] and 1/std [h] */
    lHidden: Float32Array; lZHat: Float32Array; lInvStd: Float32Array;
    /** G = dloss/d(pre-activation of L's layer SPLIT_LAYER) [out, B] */ lG: Float32Array;
    ctrl: Int32Array; params: Float64Array; error: Uint8Array;
  };
}

/** Main-thread handle of the head worker. */
export class HeadWorker {
  private constructor(
    private readonly worker: Worker,
    readonly data: HeadWorkerData,
    /** the worker thread's Linux thread id (null elsewhere) */
    readonly tid: number | null,
  ) {}

  /**
   * Starts the worker and waits until its tfjs backend is ready.
   * @param args.buffers the learner's shared state (`FlatState` current, gradient, batch statistics), views on `args.memory`
   * @throws Error when the worker cannot start (its message)
   */
  static async start(args: Omit<HeadWorkerData, 'buffers'> & { buffers: Pick<HeadWorkerData['buffers'], 'theta' | 'm' | 'v' | 'grad' | 'batchStats'> }): Promise<HeadWorker> {
    const rows = args.mu.sizes[args.mu.sizes.length - 1] + args.L.sizes[args.L.sizes.length - 1];
    const hidden = args.L.sizes[1];
    const bn = args.L.batchNorm ? 1 : 0;
    const data: HeadWorkerData = {
      ...args,
      buffers: {
        ...args.buffers,
        xT: sharedFloat32(args.dX * MAX_BATCH),
        out: sharedFloat32(rows * MAX_BATCH),
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
    const tid = await new Promise<number | null>((resolve, reject) => {
      worker.once('message', (m: { ready?: boolean; tid?: number | null; error?: string }) => (m.ready ? resolve(m.tid ?? null) : reject(new Error(`NAF head worker: ${m.error}`))));
      worker.once('error', (e) => reject(new Error(`NAF head worker: ${e.message}`)));
    });
    worker.unref();
    return new HeadWorker(worker, data, tid);
  }

  /** Sends a command (parameters already written to `data.buffers.params`); returns its sequence number. */
  send(cmd: number): number {
    const c = this.data.buffers.ctrl;
    Atomics.store(c, SLOT.CMD, cmd);
    const seq = Atomics.add(c, SLOT.CMD_SEQ, 1) + 1;
    Atomics.notify(c, SLOT.CMD_SEQ);
    return seq;
  }

  /** The worker's acknowledgement counter now. */
  acks(): number {
    return Atomics.load(this.data.buffers.ctrl, SLOT.ACK);
  }

  /** Tells the worker that the state of UPDATE `seq` is saved (it may then write it in place). */
  saved(seq: number): void {
    const c = this.data.buffers.ctrl;
    Atomics.store(c, SLOT.SAVED, seq);
    Atomics.notify(c, SLOT.SAVED);
  }

  /**
   * Blocks until the acknowledgement counter reaches `ack`.
   * @throws Error with the worker's message when it failed, or after `timeoutMs` without an answer
   */
  waitAck(ack: number, timeoutMs = 30000): void {
    const c = this.data.buffers.ctrl;
    const deadline = performance.now() + timeoutMs;
    for (let now = Atomics.load(c, SLOT.ACK); now < ack && !Atomics.load(c, SLOT.ERROR); now = Atomics.load(c, SLOT.ACK)) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`NAF head worker: no answer within ${timeoutMs} ms`);
      Atomics.wait(c, SLOT.ACK, now, left);
    }
    this.check();
  }

  /** @throws Error with the worker's message when it failed. */
  private check(): void {
    const c = this.data.buffers.ctrl;
    if (Atomics.load(c, SLOT.ERROR)) {
      const bytes = this.data.buffers.error;
      const end = bytes.indexOf(0);
      throw new Error(`NAF head worker: ${new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end))}`);
    }
  }

  /** Stops the worker (no wait). */
  close(): void {
    this.send(CMD.EXIT);
    void this.worker.terminate();
  }
}
