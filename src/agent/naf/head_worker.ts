/**
 * The worker side of the two-thread NAF update (`parallel.ts`): the forward passes of mu and L on
 * this thread's own tfjs backend, L's backward pass down to layer SPLIT_LAYER (handing its
 * pre-activation gradient to the main thread), mu's backward pass and mu's Adam step. Reads and
 * writes only the shared buffers of `HeadWorkerData`.
 */
import * as tf from '@tensorflow/tfjs';
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../backend.js';
import { adamStep, clipScale, F32_MAX, sumSquares } from '../../nn/adam.js';
import { KernelMemory } from '../../nn/kernels.js';
import { ParamLayout } from '../../nn/layout.js';
import { forwardTransposes, layerCount, mlpBackward, mlpBackwardDownTo, mlpForward, type LayerCache } from '../../nn/mlp.js';
import { downloadInto, lookup, uploadTensors } from '../../nn/tensors.js';
import { CMD, PARAM, SLOT, SPLIT_LAYER, type HeadWorkerData } from './parallel.js';

const data = workerData as HeadWorkerData;
const { ctrl, params } = data.buffers;
const b = data.buffers;
// This thread's views of the learner's state on the shared memory, so Adam runs as a wasm kernel.
const kernels = KernelMemory.attach(data.memory);
for (const k of ['theta', 'm', 'v', 'grad', 'batchStats'] as const) b[k] = kernels.view(b[k]);
const { mu, L } = data;
const prefixes = [`${mu.prefix}/`, `${L.prefix}/`];
/** L's layers this thread computes the gradient of (SPLIT_LAYER and above) */
const lTop = Array.from({ length: layerCount(L) - SPLIT_LAYER }, (_, i) => `${L.prefix}/${SPLIT_LAYER + i}/`);
const layout = new ParamLayout(data.params);
const statLayout = new ParamLayout(data.stats);
const transposed = [mu, L].flatMap(forwardTransposes);
const hasStats = statLayout.entries.some((e) => prefixes.some((p) => e.name.startsWith(p)));
const muRange = layout.range([prefixes[0]]);
const lTopRange = layout.range(lTop);
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
 * One update (`parallel.ts`): forward passes, L's layer-0 cache to the shared buffers (ack 1);
 * then, unless SKIP (ack 2 and done): L's backward pass to G (ack 2), L's remaining gradients of
 * layers >= SPLIT_LAYER and their squared norm (ack 3), mu's backward pass and — once the main
 * thread has saved the state — mu's Adam step in place (finite flag; ack 4).
 */
function update(seq: number): void {
  const B = params[PARAM.B];
  const dX = data.dX;
  const dU = mu.sizes[mu.sizes.length - 1];
  const nL = L.sizes[L.sizes.length - 1];
  tf.tidy(() => {
    const p = lookup(uploadTensors(layout, b.theta, transposed, prefixes), 'NAF head worker');
    const x = tf.tensor2d(b.xT.subarray(0, dX * B), [dX, B]);
    const collect = new Map<string, tf.Tensor>();
    const muCache: LayerCache[] = [];
    const lCache: LayerCache[] = [];
    b.out.set(mlpForward(mu, p, x, { mode: 'batch', collect }, muCache).dataSync() as Float32Array, 0);
    b.out.set(mlpForward(L, p, x, { mode: 'batch', collect }, lCache).dataSync() as Float32Array, dU * B);
    const c0 = lCache[0];
    b.lHidden.set(c0.output.dataSync() as Float32Array);
    if (c0.zHat) {
      b.lZHat.set(c0.zHat.dataSync() as Float32Array);
      b.lInvStd.set(c0.invStd!.dataSync() as Float32Array);
    }
    if (hasStats) downloadInto(statLayout, b.batchStats, collect, prefixes);
    ack();
    if (next() !== CMD.BACKWARD) return ack();

    const grads = new Map<string, tf.Tensor>();
    const dl = tf.tensor2d(b.dOut.subarray(dU * B, (dU + nL) * B), [nL, B]);
    mlpBackwardDownTo(L, p, lCache, dl, grads, SPLIT_LAYER, {
      handOff: (G) => {
        b.lG.set(G.dataSync() as Float32Array);
        ack();
      },
    });
    downloadInto(layout, b.grad, grads, lTop);
    params[PARAM.NORM2_L_TOP] = sumSquares(b.grad, lTopRange[0], lTopRange[1]);
    ack();

    mlpBackward(mu, p, muCache, tf.tensor2d(b.dOut.subarray(0, dU * B), [dU, B]), grads, { inputGrad: false });
    downloadInto(layout, b.grad, grads, [prefixes[0]]);
    const norm2 = sumSquares(b.grad, muRange[0], muRange[1]);
    for (let s = Atomics.load(ctrl, SLOT.SAVED); s !== seq; s = Atomics.load(ctrl, SLOT.SAVED)) {
      if (Atomics.load(ctrl, SLOT.CMD_SEQ) !== seen) throw new Error('the main thread moved on before saving the state');
      Atomics.wait(ctrl, SLOT.SAVED, s, 100);
    }
    const finite = norm2 <= F32_MAX && adamStep({
      theta: b.theta, m: b.m, v: b.v, g: b.grad, out: { theta: b.theta, m: b.m, v: b.v },
      start: muRange[0], end: muRange[1], t: params[PARAM.T], lr: params[PARAM.LR], scale: clipScale(Math.sqrt(norm2), params[PARAM.CLIP]), cfg: data.adam,
    });
    Atomics.store(ctrl, SLOT.FINITE, finite ? 1 : 0);
    ack();
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
