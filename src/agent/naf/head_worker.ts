/**
 * The worker side of the two-thread NAF update (`parallel.ts`): the forward and backward passes of
 * its heads (mu, L) on this thread's own tfjs backend, and half of the last head's Adam step.
 * Reads and writes only the shared buffers of `HeadWorkerData`.
 */
import * as tf from '@tensorflow/tfjs';
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../backend.js';
import { adamStep, clipScale, F32_MAX, sumSquares } from '../../nn/adam.js';
import { ParamLayout } from '../../nn/layout.js';
import { forwardTransposes, mlpBackward, mlpForward, type LayerCache } from '../../nn/mlp.js';
import { downloadInto, lookup, uploadTensors } from '../../nn/tensors.js';
import { CMD, PARAM, SLOT, type HeadWorkerData } from './parallel.js';

const data = workerData as HeadWorkerData;
const { ctrl, params } = data.buffers;
const b = data.buffers;
const prefixes = data.specs.map((s) => `${s.prefix}/`);
const layout = new ParamLayout(data.params);
const statLayout = new ParamLayout(data.stats);
const transposed = data.specs.flatMap(forwardTransposes);
const hasStats = statLayout.entries.some((e) => prefixes.some((p) => e.name.startsWith(p)));
let seen = 0;

/** Blocks until the main thread sends the next command; returns it. */
function next(): number {
  for (;;) {
    const seq = Atomics.load(ctrl, SLOT.CMD_SEQ);
    if (seq !== seen) {
      seen = seq;
      return Atomics.load(ctrl, SLOT.CMD);
    }
    Atomics.wait(ctrl, SLOT.CMD_SEQ, seq);
  }
}

/** Ends a phase: one more acknowledgement. */
function ack(): void {
  Atomics.add(ctrl, SLOT.ACK, 1);
  Atomics.notify(ctrl, SLOT.ACK);
}

function fail(e: unknown): void {
  const text = new TextEncoder().encode(e instanceof Error ? e.stack ?? e.message : String(e));
  b.error.fill(0);
  b.error.set(text.subarray(0, b.error.length - 1));
  Atomics.store(ctrl, SLOT.ERROR, 1);
  Atomics.notify(ctrl, SLOT.ACK);
}

/**
 * One update (`parallel.ts`): forward passes (ack 1); then, unless SKIP (ack 2), the backward pass
 * of the first head (its gradient and squared norm; ack 2), the backward pass of the last head
 * (ack 3) and the second half of its Adam step once the main thread has saved the state (finite
 * flag; ack 4).
 */
function update(seq: number): void {
  const B = params[PARAM.B];
  const dX = data.dX;
  tf.tidy(() => {
    const p = lookup(uploadTensors(layout, b.theta, transposed, prefixes), 'NAF head worker');
    const x = tf.tensor2d(b.xT.subarray(0, dX * B), [dX, B]);
    const collect = new Map<string, tf.Tensor>();
    const caches = data.specs.map(() => [] as LayerCache[]);
    let row = 0;
    data.specs.forEach((spec, i) => {
      const y = mlpForward(spec, p, x, { mode: 'batch', collect }, caches[i]);
      b.out.set(y.dataSync() as Float32Array, row * B);
      row += y.shape[0];
    });
    if (hasStats) downloadInto(statLayout, b.batchStats, collect, prefixes);
    ack();
    if (next() !== CMD.BACKWARD) return ack();
    row = 0;
    data.specs.forEach((spec, i) => {
      const rows = spec.sizes[spec.sizes.length - 1];
      const grads = new Map<string, tf.Tensor>();
      mlpBackward(spec, p, caches[i], tf.tensor2d(b.dOut.subarray(row * B, (row + rows) * B), [rows, B]), grads, { inputGrad: false });
      downloadInto(layout, b.grad, grads, [prefixes[i]]);
      row += rows;
      const range = layout.range([prefixes[i]]);
      const norm2 = sumSquares(b.grad, range[0], range[1]);
      if (i < data.specs.length - 1) {
        params[PARAM.NORM2_FIRST] = norm2;
        return ack();
      }
      // The last head: its gradient is ready (ack 3; the main thread takes the first half of its
      // Adam step); the second half here, in place once the state is saved (ack 4).
      params[PARAM.NORM2_LAST] = norm2;
      ack();
      for (let s = Atomics.load(ctrl, SLOT.SAVED); s !== seq; s = Atomics.load(ctrl, SLOT.SAVED)) {
        if (Atomics.load(ctrl, SLOT.CMD_SEQ) !== seen) throw new Error('the main thread moved on before saving the state');
        Atomics.wait(ctrl, SLOT.SAVED, s, 100);
      }
      const mid = Math.floor((range[0] + range[1]) / 2);
      const finite = norm2 <= F32_MAX && adamStep({
        theta: b.theta, m: b.m, v: b.v, g: b.grad, out: { theta: b.theta, m: b.m, v: b.v },
        start: mid, end: range[1], t: params[PARAM.T], lr: params[PARAM.LR], scale: clipScale(Math.sqrt(norm2), params[PARAM.CLIP]), cfg: data.adam,
      });
      Atomics.store(ctrl, SLOT.FINITE, finite ? 1 : 0);
      ack();
    });
  });
}

try {
  await initBackend(data.backend as BackendName);
  // This thread's Linux id, so that a node's real-time setup leaves it with the learner's scheduling.
  let tid: number | null = null;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch { /* not Linux */ }
  parentPort!.postMessage({ ready: true, tid });
} catch (e) {
  parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
for (;;) {
  const cmd = next();
  if (cmd === CMD.EXIT) break;
  try {
    if (cmd === CMD.UPDATE) update(seen);
  } catch (e) {
    fail(e);
  }
}
