/**
 * Steps 1-3 of the NAF update (`agent.ts`) on flat buffers with a native GEMM (`nn/dense.ts`):
 * forward passes of V'(x') (target network), V(x), mu(x), L(x); the loss and its gradient with
 * respect to the raw head outputs (`nafLoss`, Gu et al. 2016 Sec. 4); the backward passes, with
 * the gradient written straight into the learner's gradient buffer. Same maths as the tfjs path
 * (`network.ts`), so the same results to float32 rounding (`test/naf_golden.test.ts` runs both).
 * Both architectures; no batch normalisation (`dense.ts`).
 *
 * The pieces (`targetValue`, `forward`, `backward`) are also what the two threads of the native
 * path run (`parallel.ts`, "On the native path"): a worker builds one with mu and L only.
 */
import { DenseMlp } from '../../nn/dense.js';
import type { Gemm } from '../../nn/gemm.js';
import type { ParamLayout } from '../../nn/layout.js';
import type { MlpSpec } from '../../nn/mlp.js';
import type { TransitionBatch } from '../types.js';
import type { NafLossResult } from './heads.js';
import type { NafHead } from './network.js';

/** The loss of the update for the raw outputs V [N], z [N*dU], l [N*nL] and V' [N] (row-major). */
export type NafLossFn = (batch: TransitionBatch, V: Float32Array, z: Float32Array, l: Float32Array, Vnext: Float32Array) => NafLossResult;

/** Raw head outputs or their gradients, row-major: V [N], mu (z) [N*dU], L (l) [N*nL]. */
export type HeadArrays = Partial<Record<NafHead, Float32Array>>;

export class NafDenseStep {
  private readonly heads: Partial<Record<NafHead, DenseMlp>> = {};
  private readonly trunk: DenseMlp | null;
  private readonly targetV: DenseMlp | null;
  private readonly targetTrunk: DenseMlp | null;
  /** dL/d(trunk features) [N, h], summed over the three heads (shared architecture) */
  private dFeat = new Float32Array(0);

  /**
   * @param specs the network's MLPs by name (`NafNetwork.specs`: V, mu, L, and trunk when shared),
   *   or some of the heads (a worker's part); the target network is built when V is given
   * @throws Error when the network has batch normalisation (`DenseMlp`)
   */
  constructor(specs: Readonly<Partial<Record<NafHead | 'trunk', MlpSpec>>>, layout: ParamLayout, targetLayout: ParamLayout, gemm: Gemm) {
    for (const h of ['V', 'mu', 'L'] as const) if (specs[h]) this.heads[h] = new DenseMlp(specs[h], layout, gemm);
    this.trunk = specs.trunk ? new DenseMlp(specs.trunk, layout, gemm) : null;
    this.targetV = specs.V ? new DenseMlp(specs.V, targetLayout, gemm) : null;
    this.targetTrunk = specs.V && specs.trunk ? new DenseMlp(specs.trunk, targetLayout, gemm) : null;
  }

  /** V'(x') [B] of the target network for x2 [B, dX] (a view, valid until the next call). */
  targetValue(target: Float32Array, x2: Float32Array, B: number): Float32Array {
    const feat = this.targetTrunk ? this.targetTrunk.forward(target, x2, B) : x2;
    return this.targetV!.forward(target, feat, B);
  }

  /** Raw outputs of `which` heads for x [B, dX] (views, valid until the next forward of that head). */
  forward(theta: Float32Array, x: Float32Array, B: number, which: readonly NafHead[]): HeadArrays {
    const feat = this.trunk ? this.trunk.forward(theta, x, B) : x;
    const out: HeadArrays = {};
    for (const h of which) out[h] = this.heads[h]!.forward(theta, feat, B);
    return out;
  }

  /**
   * Gradients of the parameters of the heads in `d` (dL/d(raw output) of each, row-major) into
   * `grad` at the layout's offsets, from their last `forward`.
   * @throws Error when a shared trunk is given fewer than all three heads
   */
  backward(theta: Float32Array, d: HeadArrays, grad: Float32Array): void {
    if (!this.trunk) {
      for (const h of ['V', 'mu', 'L'] as const) if (d[h]) this.heads[h]!.backward(theta, d[h], grad);
      return;
    }
    if (!d.V || !d.mu || !d.L) throw new Error('NafDenseStep.backward: the shared trunk needs all three heads');
    const B = d.V.length;
    const h = this.trunk.outSize;
    if (this.dFeat.length < B * h) this.dFeat = new Float32Array(B * h);
    const into = this.dFeat.subarray(0, B * h);
    this.heads.V!.backward(theta, d.V, grad, { into, accumulate: false });
    this.heads.mu!.backward(theta, d.mu, grad, { into, accumulate: true });
    this.heads.L!.backward(theta, d.L, grad, { into, accumulate: true });
    this.trunk.backward(theta, into, grad);
  }

  /**
   * One forward-loss-backward on `batch` (x, x2 row-major [B, dX]) on the calling thread: the
   * gradient of every parameter into `grad` (layout offsets, overwritten); returns the loss result.
   */
  run(theta: Float32Array, target: Float32Array, batch: TransitionBatch, grad: Float32Array, loss: NafLossFn): NafLossResult {
    const { B } = batch;
    const Vnext = this.targetValue(target, batch.x2, B);
    const o = this.forward(theta, batch.x, B, ['V', 'mu', 'L']);
    const f = loss(batch, o.V!, o.mu!, o.L!, Vnext);
    this.backward(theta, { V: f.dV, mu: f.dz, L: f.dl }, grad);
    return f;
  }
}
