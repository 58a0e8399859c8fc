/**
 * Multi-layer perceptrons on raw tfjs tensors (tf.variable + matMul, no tf.layers), so weights,
 * target weights and snapshots are plain named tensors.
 *
 * Layer l of an MLP named `prefix` has `prefix/l/W` [in, out] and `prefix/l/b` [out]; with batch
 * normalisation (Ioffe & Szegedy 2015; NAF paper Sec. 6.1 tunes it per domain) an activated layer
 * instead has trainable `prefix/l/gamma`, `prefix/l/beta` [out] (no `b`: normalisation removes
 * any bias, whose gradient would be zero) and running statistics `prefix/l/mean`, `prefix/l/var`.
 * Hidden activations are ReLU (paper Sec. 6: "two layers of 200 rectified linear units").
 *
 * Initialisation follows DDPG (Lillicrap et al. 2016, Sec. 7): hidden layers U[-1/sqrt(fan_in),
 * 1/sqrt(fan_in)], the linear output layer U[-3e-3, 3e-3] so initial outputs are near zero.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import type { DenseWeights } from './types.js';
import type { TensorInit } from './var_store.js';

/** Name -> tensor lookup for one parameter set (online or target). */
export type Lookup = (name: string) => tf.Tensor;

export interface MlpSpec {
  prefix: string;
  /** [in, h1, ..., out] */
  sizes: number[];
  /** ReLU after the last layer too (a shared trunk) instead of a linear output. */
  activateLast: boolean;
  batchNorm: boolean;
}

/** Batch-norm statistics of one layer as plain arrays (snapshot meta for the actor). */
export interface BnLayer {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** Epsilon added to the variance in batch normalisation. */
export const BN_EPS = 1e-3;
/** Running statistics: running <- BN_MOMENTUM running + (1 - BN_MOMENTUM) batch. */
export const BN_MOMENTUM = 0.99;
/** Bound of the uniform init of linear output layers (DDPG Sec. 7). */
export const OUTPUT_INIT = 3e-3;

/**
 * How batch norm normalises: 'batch' uses the minibatch's mean/variance (training, and the target
 * network's V'(x') in the same update); 'running' uses the running averages (acting, V(x) queries).
 */
export interface BnContext {
  mode: 'batch' | 'running';
  /** running statistics lookup (`prefix/l/mean`, `prefix/l/var`), used in 'running' mode */
  stats?: Lookup;
  /** when given in 'batch' mode, receives each layer's batch mean and variance by stats name */
  collect?: Map<string, tf.Tensor>;
}

/**
 * y = x W (+ b) (optionally ReLU'd) with a hand-written gradient. tfjs's default gradient of
 * matMul uses transposed-operand matMuls, which the wasm backend runs 3-5x slower than an explicit
 * `transpose` followed by a plain matMul (measured, tfjs 4.22 wasm, [64, 200] x [200, 200]);
 * this gradient is the textbook one: dx = dy W^T, dW = x^T dy, db = sum_rows(dy), with dy first
 * masked by the ReLU derivative (y > 0).
 *
 * W is used in the backward pass directly instead of through tfjs's `save` (which copies every
 * saved tensor): W must outlive the gradient computation, i.e. be a variable or a tensor created
 * outside the differentiated function — true of every weight here (online variables, or DDPG's
 * proposed critic weights, created in the enclosing update).
 */
function makeDense(relu: boolean, withBias: boolean) {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const W = args[1] as tf.Tensor2D;
    const bias = withBias ? (args[2] as tf.Tensor) : undefined;
    const save = args[withBias ? 3 : 2] as tf.GradSaveFunc;
    const y = tf.fused.matMul({ a: x, b: W, bias, activation: relu ? 'relu' : 'linear' }) as tf.Tensor2D;
    save(relu ? [x, y] : [x]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as tf.Tensor2D[];
        const g = relu ? tf.mul(dy, tf.step(ys)) : dy;
        const dxW = [tf.matMul(g, tf.transpose(W)), tf.matMul(tf.transpose(xs), g)];
        return withBias ? [...dxW, tf.sum(g, 0)] : dxW;
      },
    };
  });
  return f;
}

const denseOp = makeDense(false, true);
const denseReluOp = makeDense(true, true);
const matMulOp = makeDense(false, false);
/** x [N, in], W [in, out], b [out] -> x W + b, [N, out]. Differentiable (custom gradient). */
export const dense = (x: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D => denseOp(x, W, b);
/** x [N, in], W [in, out], b [out] -> relu(x W + b), [N, out]. Differentiable (custom gradient). */
export const denseRelu = (x: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D => denseReluOp(x, W, b);
/** x [N, in], W [in, out] -> x W (no bias: batch norm's beta takes its place). */
export const denseNoBias = (x: tf.Tensor2D, W: tf.Tensor2D): tf.Tensor2D => matMulOp(x, W);

/** Number of layers of `spec`. */
export function layerCount(spec: MlpSpec): number {
  return spec.sizes.length - 1;
}

/** Whether layer `l` has an activation (and hence batch norm when enabled). */
function activated(spec: MlpSpec, l: number): boolean {
  return l < layerCount(spec) - 1 || spec.activateLast;
}

/**
 * Initial parameters (trainable) and running statistics (not trainable) of an MLP.
 * @throws Error when a size is not a positive integer.
 */
export function mlpInit(spec: MlpSpec, rng: Rng): { params: TensorInit[]; stats: TensorInit[] } {
  if (spec.sizes.length < 2 || !spec.sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`mlpInit(${spec.prefix}): layer sizes must be >= 2 positive integers, got [${spec.sizes}]`);
  }
  const params: TensorInit[] = [];
  const stats: TensorInit[] = [];
  for (let l = 0; l < layerCount(spec); l++) {
    const nIn = spec.sizes[l];
    const nOut = spec.sizes[l + 1];
    const bound = activated(spec, l) ? 1 / Math.sqrt(nIn) : OUTPUT_INIT;
    const name = `${spec.prefix}/${l}`;
    params.push({ name: `${name}/W`, shape: [nIn, nOut], data: uniform(rng, nIn * nOut, bound) });
    if (spec.batchNorm && activated(spec, l)) {
      params.push({ name: `${name}/gamma`, shape: [nOut], data: new Float32Array(nOut).fill(1) });
      params.push({ name: `${name}/beta`, shape: [nOut], data: new Float32Array(nOut) });
      stats.push({ name: `${name}/mean`, shape: [nOut], data: new Float32Array(nOut) });
      stats.push({ name: `${name}/var`, shape: [nOut], data: new Float32Array(nOut).fill(1) });
    } else {
      params.push({ name: `${name}/b`, shape: [nOut], data: uniform(rng, nOut, bound) });
    }
  }
  return { params, stats };
}

/**
 * Forward pass: x [N, in] -> [N, out]. Activated layers compute relu(BN(x W + b)) (BN only when
 * enabled), the last layer of a non-`activateLast` MLP is linear. Call inside `tf.tidy`.
 * @throws Error when batch norm is on and 'running' mode has no `stats`.
 */
export function mlpApply(spec: MlpSpec, p: Lookup, x: tf.Tensor2D, bn?: BnContext): tf.Tensor2D {
  let h = x;
  for (let l = 0; l < layerCount(spec); l++) {
    const name = `${spec.prefix}/${l}`;
    const W = p(`${name}/W`) as tf.Tensor2D;
    if (!activated(spec, l)) {
      h = dense(h, W, p(`${name}/b`));
    } else if (!spec.batchNorm) {
      h = denseRelu(h, W, p(`${name}/b`));
    } else {
      const z = denseNoBias(h, W);
      let mean: tf.Tensor, variance: tf.Tensor;
      if (!bn || bn.mode === 'batch') {
        ({ mean, variance } = tf.moments(z, 0));
        bn?.collect?.set(`${name}/mean`, mean);
        bn?.collect?.set(`${name}/var`, variance);
      } else {
        if (!bn.stats) throw new Error(`mlpApply(${spec.prefix}): batch norm 'running' mode needs stats`);
        mean = bn.stats(`${name}/mean`);
        variance = bn.stats(`${name}/var`);
      }
      const zHat = tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, BN_EPS)));
      h = tf.relu(tf.add(tf.mul(zHat, p(`${name}/gamma`)), p(`${name}/beta`))) as tf.Tensor2D;
    }
  }
  return h;
}

/**
 * Plain-array copy of an MLP for a `PolicySnapshot`: dense layers, and per layer its batch-norm
 * statistics (null for layers without batch norm). Batch-normalised layers get b = 0.
 */
export function mlpSnapshot(
  spec: MlpSpec,
  read: (name: string) => Float32Array,
  readStats: (name: string) => Float32Array,
): { layers: DenseWeights[]; bn: (BnLayer | null)[] } {
  const layers: DenseWeights[] = [];
  const bn: (BnLayer | null)[] = [];
  for (let l = 0; l < layerCount(spec); l++) {
    const name = `${spec.prefix}/${l}`;
    const withBn = spec.batchNorm && activated(spec, l);
    const b = withBn ? new Float32Array(spec.sizes[l + 1]) : read(`${name}/b`);
    layers.push({ W: read(`${name}/W`), b, inSize: spec.sizes[l], outSize: spec.sizes[l + 1] });
    bn.push(
      withBn
        ? {
            gamma: read(`${name}/gamma`),
            beta: read(`${name}/beta`),
            mean: readStats(`${name}/mean`),
            variance: readStats(`${name}/var`),
          }
        : null,
    );
  }
  return { layers, bn };
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}
