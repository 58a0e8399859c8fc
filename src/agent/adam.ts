/**
 * Adam (Kingma & Ba 2015, Algorithm 1) and global-norm gradient clipping as pure tensor functions:
 * they *propose* new weights and moments and never mutate anything.
 *
 * Why not `tf.train.adam`: its `applyGradients` writes weights and moments in place, and its
 * moments can only be read/restored through the async `getWeights`/`setWeights`. The agents'
 * divergence guard must inspect the proposed step synchronously inside `update()` and commit it
 * only when everything is finite, so the moments live in the agent's `VarStore` next to the
 * weights (checkpointed together; `AgentState` names `adam_m/...`, `adam_v/...`, scalar `adam_t`).
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
}

/** Kingma & Ba's defaults. */
export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * One Adam step for one tensor, t = 1, 2, ... the step number after this step:
 *   m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,
 *   theta' = theta - lr * (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps),
 * computed in Kingma & Ba's reordered form (Sec. 2): lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
 * eps_t = eps sqrt(1 - b2^t), theta' = theta - lr_t m' / (sqrt(v') + eps_t) — the same value with
 * fewer kernels (the moments as m + (1 - b1)(g - m), v + (1 - b2)(g^2 - v)).
 * Call inside `tf.tidy`. All tensors share one shape.
 * @throws RangeError when t < 1.
 */
export function adamStep(
  theta: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  t: number,
  lr: number,
  cfg: AdamConfig = ADAM_DEFAULTS,
): { theta: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  if (!(t >= 1)) throw new RangeError(`adamStep: step t must be >= 1, got ${t}`);
  const c2 = Math.sqrt(1 - cfg.beta2 ** t);
  const lrT = (lr * c2) / (1 - cfg.beta1 ** t);
  const m2 = tf.add(m, tf.mul(tf.sub(g, m), 1 - cfg.beta1));
  const v2 = tf.add(v, tf.mul(tf.sub(tf.square(g), v), 1 - cfg.beta2));
  const step = tf.div(tf.mul(m2, lrT), tf.add(tf.sqrt(v2), cfg.eps * c2));
  return { theta: tf.sub(theta, step), m: m2, v: v2 };
}

/**
 * Scales all gradients by min(1, maxNorm / ||g||), ||g|| the global L2 norm over every tensor
 * (Pascanu et al. 2013; what `clip_grad_norm_` / Keras `global_clipnorm` do). maxNorm <= 0 turns
 * clipping off. Returns the clipped gradients and the pre-clip norm (scalar). Call inside `tf.tidy`.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  if (!(maxNorm > 0)) return { grads, norm };
  const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
  return { grads: grads.map((g) => tf.mul(g, scale)), norm };
}

/**
 * One Adam step on a list of parameter tensors (moments m, v given per tensor, same shapes).
 * Order of operations: optional L2 weight decay on the selected tensors (g += wd * theta; DDPG's
 * critic regulariser, Lillicrap et al. 2016 Sec. 7), then global-norm clipping over all gradients,
 * then Adam. Returns the proposed parameters and moments (nothing is mutated) and the pre-clip
 * gradient norm. Call inside `tf.tidy`.
 *
 * Per-tensor rather than on one concatenated vector: splitting a vector back into weight tensors
 * copies the whole vector per piece on the wasm backend (slice/split/gather fall back to a
 * JS implementation that reads the full input), which costs more than the saved kernel launches.
 */
export function adamUpdate(args: {
  params: tf.Tensor[];
  grads: tf.Tensor[];
  m: tf.Tensor[];
  v: tf.Tensor[];
  t: number;
  lr: number;
  clipNorm: number;
  cfg: AdamConfig;
  decay?: { wd: number; apply: boolean[] };
}): { params: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[]; gradNorm: tf.Scalar } {
  const { params, decay } = args;
  const g0 = args.grads.map((g, i) => (decay && decay.wd > 0 && decay.apply[i] ? tf.add(g, tf.mul(params[i], decay.wd)) : g));
  const { grads, norm } = clipByGlobalNorm(g0, args.clipNorm);
  const out = { params: [] as tf.Tensor[], m: [] as tf.Tensor[], v: [] as tf.Tensor[], gradNorm: norm };
  params.forEach((theta, i) => {
    const s = adamStep(theta, grads[i], args.m[i], args.v[i], args.t, args.lr, args.cfg);
    out.params.push(s.theta);
    out.m.push(s.m);
    out.v.push(s.v);
  });
  return out;
}
