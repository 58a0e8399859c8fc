/**
 * The NAF update on two threads (issue 10): the calling thread computes V, the target V', the Adam
 * steps of V and mu and half of L's; a worker thread (`head_worker.ts`, its own tfjs backend)
 * computes the mu and L heads and the other half of L's Adam step. The heads of the 'separate'
 * architecture share no weights and each is clipped as its own network, so this is model
 * parallelism with a few hand-offs:
 *
 *   main                                     worker
 *   UPDATE ─────────────────────────────────▶ forward mu, L on x^T -> z^T, l^T (shared)
 *   save the state (memcpy), SAVED ──────────▶ ...
 *   forward V', V                             ...
 *   wait ack 1 ◀───────────────────────────── forward done
 *   nafLoss -> dz^T, dl^T, BACKWARD ─────────▶ backward mu -> grad, ||grad_mu||^2; ack 2
 *   backward V; Adam V                        backward L -> grad, ||grad_L||^2; ack 3
 *   wait ack 2; Adam mu                       second half of Adam L (after SAVED)
 *   wait ack 3; first half of Adam L          ...
 *   wait ack 4 ◀───────────────────────────── ack 4 (finite flag)
 *
 * Balance: forward 2 + 2 [200x200] products each; backward 2 (V) against 4 (mu, L), which the
 * calling thread evens out with the Adam steps. Weights, moments and the gradient live in
 * SharedArrayBuffers (`FlatState` with `shared`), so only head outputs and their gradients are
 * copied between threads. Waiting is `Atomics.wait` (allowed in Node's main thread and in
 * workers) with a timeout: a worker that dies or hangs becomes an Error, not a hang.
 */
import { Worker } from 'node:worker_threads';
import type { AdamConfig } from '../../nn/adam.js';
import { sharedFloat32 } from '../../nn/flat_state.js';
import type { LayoutEntry } from '../../nn/layout.js';
import type { MlpSpec } from '../../nn/mlp.js';

/** Commands (ctrl[CMD]). */
export const CMD = { UPDATE: 1, BACKWARD: 2, SKIP: 3, EXIT: 4 } as const;
/**
 * Int32 slots of the control array: the command and its sequence number (main -> worker), the
 * worker's acknowledgement counter (one per phase), an error flag, the finite flag of the worker's
 * Adam step, and the sequence number of the UPDATE whose state the main thread has saved.
 */
export const SLOT = { CMD: 0, CMD_SEQ: 1, ACK: 2, ERROR: 3, FINITE: 4, SAVED: 5 } as const;
/** Float64 slots of the parameter array. */
export const PARAM = { B: 0, T: 1, LR: 2, CLIP: 3, NORM2_FIRST: 4, NORM2_LAST: 5 } as const;
/** Largest minibatch the shared scratch holds; larger batches run on one thread. */
export const MAX_BATCH = 1024;

/** Everything the worker is started with (structured-cloned; the buffers are shared). */
export interface HeadWorkerData {
  backend: string;
  dX: number;
  /** the worker's heads, mu then L: the first one's gradient is handed back, the second one stepped here */
  specs: MlpSpec[];
  /** the full parameter and statistics layouts (the worker uses its heads' entries) */
  params: LayoutEntry[];
  stats: LayoutEntry[];
  adam: AdamConfig;
  buffers: {
    theta: Float32Array; m: Float32Array; v: Float32Array; grad: Float32Array; batchStats: Float32Array;
    /** x^T [dX, B] */ xT: Float32Array;
    /** outputs of the worker's heads, feature-major, one after the other */ out: Float32Array;
    /** dL/d(outputs), same layout */ dOut: Float32Array;
    ctrl: Int32Array; params: Float64Array; error: Uint8Array;
  };
}

/** Main-thread handle of the head worker. */
export class HeadWorker {
  private constructor(
    private readonly worker: Worker,
    readonly data: HeadWorkerData,
    /** rows of each of the worker's heads' outputs, in `specs` order */
    readonly outRows: number[],
    /** the worker thread's Linux thread id (null elsewhere) */
    readonly tid: number | null,
  ) {}

  /**
   * Starts the worker and waits until its tfjs backend is ready.
   * @param buffers the learner's shared state (`FlatState` current, gradient, batch statistics)
   * @throws Error when the worker cannot start (its message)
   */
  static async start(args: Omit<HeadWorkerData, 'buffers'> & { buffers: Pick<HeadWorkerData['buffers'], 'theta' | 'm' | 'v' | 'grad' | 'batchStats'> }): Promise<HeadWorker> {
    const outRows = args.specs.map((s) => s.sizes[s.sizes.length - 1]);
    const rows = outRows.reduce((a, b) => a + b, 0);
    const data: HeadWorkerData = {
      ...args,
      buffers: {
        ...args.buffers,
        xT: sharedFloat32(args.dX * MAX_BATCH),
        out: sharedFloat32(rows * MAX_BATCH),
        dOut: sharedFloat32(rows * MAX_BATCH),
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
    return new HeadWorker(worker, data, outRows, tid);
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
