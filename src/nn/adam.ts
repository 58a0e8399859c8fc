/**
 * Adam (Kingma & Ba 2015, Algorithm 1) and global-norm gradient clipping over flat Float32Array
 * buffers (`ParamLayout`): each is one loop over a contiguous range, instead of a dozen tfjs kernels
 * per weight tensor, whose dispatch would cost more than the arithmetic.
 *
 * The step may write in place (`out` the input buffers): the divergence guard saves the state
 * before a step and restores it when the step is not finite (`flat_state.ts`).
 *
 * Two implementations with one contract: when every operand is a view on one `KernelMemory`
 * (the learners allocate their state there, `flat_state.ts`), the wasm SIMD kernels of
 * `kernels.wat` run (float32 arithmetic, as tfjs's own optimisers); otherwise a JS loop
 * (float64 arithmetic rounded to float32 on store). They agree to float32 rounding
 * (`test/kernels.test.ts`).
 */
import { kernelMemoryOf } from './kernels.js';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
}

/** Kingma & Ba's defaults. */
export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Largest finite float32; a squared gradient norm above its square overflows the float32 moments. */
export const F32_MAX = 3.4028234663852886e38;

/** Sum of squares of g[start, end) (float64 accumulation). @throws RangeError when the range is not inside g. */
export function sumSquares(g: Float32Array, start = 0, end = g.length): number {
  checkRange('sumSquares', start, end, g.length);
  const k = kernelMemoryOf(g);
  if (k) return k.sumSquares(g, start, end);
  let s = 0;
  for (let i = start; i < end; i++) s += g[i] * g[i];
  return s;
}

/**
 * Global-norm clipping factor min(1, maxNorm / ||g||) (Pascanu et al. 2013; what PyTorch's
 * `clip_grad_norm_` and Keras' `global_clipnorm` do). maxNorm <= 0 turns clipping off (factor 1).
 */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? maxNorm / Math.max(norm, maxNorm) : 1;
}

/**
 * One Adam step on the elements [start, end) with the (already clipped) gradient `scale * g`,
 * t = 1, 2, ... the step number after this step:
 *   m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,
 *   theta' = theta - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps),
 * computed in Kingma & Ba's reordered form (Sec. 2): lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
 * eps_t = eps sqrt(1 - b2^t), theta' = theta - lr_t m' / (sqrt(v') + eps_t), with the moments as
 * m + (1 - b1)(g - m) and v + (1 - b2)(g^2 - v) (the arithmetic of the tfjs implementation this
 * replaces, so results agree to float32 rounding). `out` may be the input buffers (in place).
 * Returns false when a proposed weight is not representable in float32 (NaN, or beyond ±F32_MAX:
 * an absurd learning rate); the check is one comparison inside the same loop. g, m and v below
 * float32's smallest normal (2^-126) are flushed to zero: subnormals reach m within ~800 steps for
 * any weight whose gradient stays 0 (a dead ReLU unit), and x86 arithmetic on them is ~40x slower
 * (`kernels.wat`); a flushed value moves no weight.
 * @throws RangeError when t < 1, or [start, end) is not inside every buffer.
 */
export function adamStep(a: {
  theta: Float32Array;
  m: Float32Array;
  v: Float32Array;
  g: Float32Array;
  out: { theta: Float32Array; m: Float32Array; v: Float32Array };
  start: number;
  end: number;
  t: number;
  lr: number;
  scale: number;
  cfg: AdamConfig;
}): boolean {
  if (!(a.t >= 1)) throw new RangeError(`adamStep: step t must be >= 1, got ${a.t}`);
  const { theta, m, v, g, scale, start, end } = a;
  const { theta: thetaOut, m: mOut, v: vOut } = a.out;
  checkRange('adamStep', start, end, Math.min(theta.length, m.length, v.length, g.length, thetaOut.length, mOut.length, vOut.length));
  const { beta1, beta2, eps } = a.cfg;
  const c2 = Math.sqrt(1 - beta2 ** a.t);
  const lrT = (a.lr * c2) / (1 - beta1 ** a.t);
  const epsT = eps * c2;
  const k1 = 1 - beta1;
  const k2 = 1 - beta2;
  const inPlace = thetaOut === theta && mOut === m && vOut === v;
  const k = inPlace ? kernelMemoryOf(theta, m, v, g) : null;
  if (k) return k.adam(theta, m, v, g, start, end, lrT, epsT, k1, k2, scale);
  let finite = true;
  for (let i = start; i < end; i++) {
    const gi = flush(g[i] * scale);
    const mi = flush(m[i] + (gi - m[i]) * k1);
    const vi = flush(v[i] + (gi * gi - v[i]) * k2);
    const th = theta[i] - (mi * lrT) / (Math.sqrt(vi) + epsT);
    if (!(Math.abs(th) <= F32_MAX)) finite = false;
    mOut[i] = mi;
    vOut[i] = vi;
    thetaOut[i] = th;
  }
  return finite;
}

/**
 * Soft target update in place (DDPG; NAF Algorithm 1): target[i] <- tau theta[offset + i] +
 * (1 - tau) target[i] for every element of `target`.
 * @throws RangeError when theta has no element offset + target.length - 1.
 */
export function softUpdate(target: Float32Array, theta: Float32Array, offset: number, tau: number): void {
  checkRange('softUpdate', offset, offset + target.length, theta.length);
  const kernels = kernelMemoryOf(target, theta);
  if (kernels) return kernels.softUpdate(target, theta, offset, tau);
  const k = 1 - tau;
  for (let i = 0; i < target.length; i++) target[i] = theta[offset + i] * tau + target[i] * k;
}

/** Smallest normal float32, 2^-126. */
const F32_MIN_NORMAL = 1.1754943508222875e-38;

/** x, or 0 when |x| is below float32's smallest normal (a subnormal once stored). */
const flush = (x: number): number => (Math.abs(x) < F32_MIN_NORMAL ? 0 : x);

function checkRange(who: string, start: number, end: number, length: number): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= length)) {
    throw new RangeError(`${who}: range [${start}, ${end}) is not inside a buffer of ${length} elements`);
  }
}
