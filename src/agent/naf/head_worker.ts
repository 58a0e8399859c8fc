/**
 * The worker side of the two-thread NAF update (`parallel.ts`): the forward passes of mu and L on
 * this thread's own tfjs backend, L's backward pass down to layer SPLIT_LAYER (handing its
 * pre-activation gradient to the main thread), mu's backward pass and mu's Adam step. On the
 * native path (`data.native`) instead: mu, L and the target V' forward, mu and L backward, on this
 * thread's native GEMM (`nativeUpdate`).
 *
 * Writes only memory of its own (`parallel.ts`, rule 1): this instance's buffers and the worker
 * region (gradients, batch statistics, mu's Adam step as a proposal). The learner's state is read
 * here, never written. A failure is reported through ctrl[ERROR]: an exception in a step
 * (ERR.THREW, its message in `error`), or the thread exiting (ERR.EXITED, from the exit hook).
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
import { CMD, ERR, FAULT, PARAM, SLOT, SPIN_MS, SPLIT_LAYER, spinUntilChanged, type HeadWorkerData } from './parallel.js';
import { nativeGemm } from '../../nn/gemm.js';
import { NafDenseStep } from './dense_step.js';

const data = workerData as HeadWorkerData;
const { ctrl, params } = data.buffers;
const b = data.buffers;
// This thread's views of the learner's state (read only) and of the worker region (written), so
// that Adam runs as a wasm kernel on the region.
const stateMemory = KernelMemory.attach(data.memory);
for (const k of ['theta', 'm', 'v', 'target'] as const) b[k] = stateMemory.view(b[k]);
const regionMemory = KernelMemory.attach(data.region.memory);
const region = { ...data.region };
for (const k of ['grad', 'stats', 'theta', 'm', 'v'] as const) region[k] = regionMemory.view(data.region[k]);
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
const lRange = layout.range([prefixes[1]]);
let seen = 0;
let exiting = false;

// A thread that ends for any reason but EXIT (process.exit, an uncaught error) says so at once,
// so that the main thread does not wait for its timeout.
process.on('exit', (code) => {
  if (exiting || Atomics.load(ctrl, SLOT.ERROR) !== ERR.NONE) return;
  writeError(`its thread exited (code ${code}) during an update`);
  Atomics.store(ctrl, SLOT.ERROR, ERR.EXITED);
  Atomics.notify(ctrl, SLOT.ACK);
});

/** Blocks until the main thread sends the next command; returns it (EXIT also sets `exiting`). */
function next(): number {
  for (;;) {
    const seq = Atomics.load(ctrl, SLOT.CMD_SEQ);
    if (seq !== seen) {
      seen = seq;
      const cmd = Atomics.load(ctrl, SLOT.CMD);
      if (cmd === CMD.EXIT) exiting = true;
      return cmd;
    }
    if (!spinUntilChanged(ctrl, SLOT.CMD_SEQ, seq, SPIN_MS)) Atomics.wait(ctrl, SLOT.CMD_SEQ, seq);
  }
}

/** Ends a phase: one more acknowledgement. */
function ack(): void {
  Atomics.add(ctrl, SLOT.ACK, 1);
  Atomics.notify(ctrl, SLOT.ACK);
}

function writeError(text: string): void {
  const bytes = new TextEncoder().encode(text);
  b.error.fill(0);
  b.error.set(bytes.subarray(0, b.error.length - 1));
}

function fail(e: unknown): void {
  // the message first (one line for the log), then the stack's frames
  writeError(e instanceof Error ? [e.message, ...(e.stack ?? '').split('\n').filter((l) => l.startsWith('    at '))].join('\n') : String(e));
  Atomics.store(ctrl, SLOT.ERROR, ERR.THREW);
  Atomics.notify(ctrl, SLOT.ACK);
}

/**
 * Tests and drills only (`HeadWorkerFault`, `parallel.ts`; `drill.ts`): fires the armed fault when it is for `phase`.
 * A worker started without `testFaults` never reads the fault slots.
 */
function fault(phase: number): void {
  if (!data.testFaults || Atomics.load(ctrl, SLOT.FAULT_PHASE) !== phase) return;
  const kind = Atomics.exchange(ctrl, SLOT.FAULT_KIND, FAULT.NONE);
  if (kind === FAULT.THROW) throw new Error(`injected fault (test or drill): throw at phase ${phase}`);
  if (kind === FAULT.EXIT) process.exit(3);
  if (kind === FAULT.STALL) while (Atomics.load(ctrl, SLOT.FAULT_RELEASE) === 0) Atomics.wait(ctrl, SLOT.FAULT_RELEASE, 0);
}

/**
 * One update (`parallel.ts`): forward passes, L's layer-0 cache to the shared buffers (ack 1);
 * then, unless SKIP (ack 2 and done) or EXIT (done): L's backward pass to G (ack 2), L's remaining
 * gradients of layers >= SPLIT_LAYER and their squared norm (ack 3), mu's backward pass and mu's
 * Adam step from the state's weights and moments into the region (finite flag; ack 4).
 */
function update(): void {
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
    if (hasStats) downloadInto(statLayout, region.stats, collect, prefixes);
    fault(1);
    ack();
    const cmd = next();
    if (cmd === CMD.EXIT) return;
    if (cmd !== CMD.BACKWARD) return ack();

    const grads = new Map<string, tf.Tensor>();
    const dl = tf.tensor2d(b.dOut.subarray(dU * B, (dU + nL) * B), [nL, B]);
    mlpBackwardDownTo(L, p, lCache, dl, grads, SPLIT_LAYER, {
      handOff: (G) => {
        b.lG.set(G.dataSync() as Float32Array);
        fault(2);
        ack();
      },
    });
    downloadInto(layout, region.grad, grads, lTop);
    params[PARAM.NORM2_L_TOP] = sumSquares(region.grad, lTopRange[0], lTopRange[1]);
    fault(3);
    ack();

    mlpBackward(mu, p, muCache, tf.tensor2d(b.dOut.subarray(0, dU * B), [dU, B]), grads, { inputGrad: false });
    downloadInto(layout, region.grad, grads, [prefixes[0]]);
    const norm2 = sumSquares(region.grad, muRange[0], muRange[1]);
    fault(4);
    // mu's Adam step as a proposal: the state's weights and moments copied into the region, then
    // the in-place kernel there (the same float32 arithmetic as in place in the state).
    region.theta.set(b.theta.subarray(muRange[0], muRange[1]));
    region.m.set(b.m.subarray(muRange[0], muRange[1]));
    region.v.set(b.v.subarray(muRange[0], muRange[1]));
    const finite = norm2 <= F32_MAX && adamStep({
      theta: region.theta, m: region.m, v: region.v, g: region.grad.subarray(muRange[0], muRange[1]),
      out: { theta: region.theta, m: region.m, v: region.v },
      start: 0, end: muRange[1] - muRange[0], t: params[PARAM.T], lr: params[PARAM.LR], scale: clipScale(Math.sqrt(norm2), params[PARAM.CLIP]), cfg: data.adam,
    });
    Atomics.store(ctrl, SLOT.FINITE, finite ? 1 : 0);
    ack();
  });
}

/** The native path's heads (`parallel.ts`, "On the native path"), built at start when `data.native`. */
let dense: NafDenseStep | null = null;

/**
 * One update on the native path (`parallel.ts`): forward passes of mu and L on x (`xT`, row-major)
 * and of the target V' on x' (`x2`); z, l and V' row-major into `out` (ack 1). Unless SKIP (ack 2,
 * done) or EXIT (done): backward passes of mu and L from dz, dl in `dOut` into the region's grad,
 * and the squared norms of mu's and of L's gradients (ack 2).
 */
function nativeUpdate(): void {
  const B = params[PARAM.B];
  const dU = mu.sizes[mu.sizes.length - 1];
  const nL = L.sizes[L.sizes.length - 1];
  const o = dense!.forward(b.theta, b.xT.subarray(0, B * data.dX), B, ['mu', 'L']);
  b.out.set(o.mu!, 0);
  b.out.set(o.L!, dU * B);
  b.out.set(dense!.targetValue(b.target, b.x2.subarray(0, B * data.dX), B), (dU + nL) * B);
  fault(1);
  ack();
  const cmd = next();
  if (cmd === CMD.EXIT) return;
  if (cmd !== CMD.BACKWARD) return ack();
  dense!.backward(b.theta, { mu: b.dOut.subarray(0, dU * B), L: b.dOut.subarray(dU * B, (dU + nL) * B) }, region.grad);
  params[PARAM.NORM2_MU] = sumSquares(region.grad, muRange[0], muRange[1]);
  params[PARAM.NORM2_L_TOP] = sumSquares(region.grad, lRange[0], lRange[1]);
  fault(2);
  ack();
}

try {
  if (data.native) {
    const g = nativeGemm();
    if ('error' in g) throw new Error(`the native GEMM does not load in the worker thread: ${g.error}`);
    dense = new NafDenseStep({ V: data.native.V, mu, L }, layout, new ParamLayout(data.native.targetParams), g.gemm);
  }
  await initBackend(data.backend as BackendName);
  // This thread's Linux id, so that a node's real-time setup leaves it with the learner's scheduling.
  let tid: number | null = null;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch { /* not Linux */ }
  parentPort!.postMessage({ ready: true, tid });
} catch (e) {
  parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  exiting = true;
  process.exit(1);
}
while (!exiting) {
  const cmd = next();
  try {
    if (cmd === CMD.UPDATE) (dense ? nativeUpdate : update)();
  } catch (e) {
    fail(e);
  }
}
