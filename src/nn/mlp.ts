/**
 * Multi-layer perceptrons on tfjs with an explicit backward pass (no gradient tape).
 *
 * Layer l of an MLP named `prefix` has `prefix/l/W` [in, out] and `prefix/l/b` [out]; with batch
 * normalisation (Ioffe & Szegedy 2015; the NAF paper tunes it per domain, Sec. 6.1) an activated
 * layer instead has trainable `prefix/l/gamma`, `prefix/l/beta` [out] (no `b`: normalisation removes
 * any bias) and running statistics `prefix/l/mean`, `prefix/l/var`. Hidden activations are ReLU
 * (paper Sec. 6: "two layers of 200 rectified linear units"); the last layer is linear unless
 * `activateLast` (a shared trunk).
 *
 * Initialisation follows DDPG (Lillicrap et al. 2016, Sec. 7): hidden layers U[-1/sqrt(fan_in),
 * 1/sqrt(fan_in)], the linear output layer U[-3e-3, 3e-3], so initial outputs are near zero.
 *
 * Why a hand-written backward pass: a NAF update through tfjs's tape cost ~770 small kernels
 * (profiled: dispatch, not arithmetic, dominated). Here each layer's backward is the
 * textbook one — g = dY ⊙ relu'(y), dW = x^T g, db = sum over samples of g, dx = g W^T — with plain
 * 2-D matMuls only: on the wasm backend a matMul with `transposeA`/`transposeB` set runs ~10x slower
 * than an explicit transpose followed by a plain matMul (measured, tfjs 4.22 wasm).
 *
 * Feature-major activations: the passes take and return activations as [features, N] (one column
 * per sample), i.e. they compute Y^T = W^T X^T. The wasm backend's matMul (XNNPACK) packs its
 * second operand anew whenever that tensor is new, and the weights are new at every update: with
 * the weights as the *first* operand only the [features, N] activations are packed (measured: a
 * [64, 200] x [200, 200] product with fresh weights as the second operand 211 us, the same product
 * transposed with fresh weights first 140 us). The weights stay stored as W [in, out]; the caller
 * uploads W^T for the forward pass (`forwardTransposes`, transposed in JS) and W itself for the
 * backward pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import type { TensorSpec } from './layout.js';

/** Name -> tensor lookup for one parameter set (online, target, or proposed weights). */
export type Lookup = (name: string) => tf.Tensor;

export interface MlpSpec {
  prefix: string;
  /** [in, h1, ..., out] */
  sizes: number[];
  /** ReLU after the last layer too (a shared trunk) instead of a linear output. */
  activateLast: boolean;
  batchNorm: boolean;
}

/** Initial value of one named tensor, row-major. */
export interface TensorInit extends TensorSpec {
  data: Float32Array;
}

/** Batch-norm statistics of one layer as plain arrays (snapshot meta for the actor). */
export interface BnLayer {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** One dense layer's parameters as plain arrays: W [in*out] row-major (in rows), b [out]. */
export interface DenseWeights {
  W: Float32Array;
  b: Float32Array;
  inSize: number;
  outSize: number;
}

/** Epsilon added to the variance in batch normalisation. */
export const BN_EPS = 1e-3;
/** Running statistics: running <- BN_MOMENTUM running + (1 - BN_MOMENTUM) batch. */
export const BN_MOMENTUM = 0.99;
/** Bound of the uniform init of linear output layers (DDPG Sec. 7). */
export const OUTPUT_INIT = 3e-3;

/**
 * How batch norm normalises: 'batch' uses the minibatch's mean/variance (training, and a target
 * network's forward pass in the same update); 'running' uses the running averages (acting, queries).
 */
export interface BnContext {
  mode: 'batch' | 'running';
  /** running statistics lookup (`prefix/l/mean`, `prefix/l/var`), used in 'running' mode */
  stats?: Lookup;
  /** when given in 'batch' mode, receives each layer's batch mean and variance by stats name */
  collect?: Map<string, tf.Tensor>;
}

/** What the backward pass needs of one layer's forward pass (feature-major, [features, N]). */
export interface LayerCache {
  /** [in, N] */
  input: tf.Tensor2D;
  /** [out, N], after the activation */
  output: tf.Tensor2D;
  /** batch norm only: the normalised pre-activation [out, N] and 1/sqrt(var + eps) [out, 1] */
  zHat?: tf.Tensor2D;
  invStd?: tf.Tensor2D;
}

/** Number of layers of `spec`. */
export function layerCount(spec: MlpSpec): number {
  return spec.sizes.length - 1;
}

/** Whether layer `l` has an activation (and hence batch norm when enabled). */
export function activated(spec: MlpSpec, l: number): boolean {
  return l < layerCount(spec) - 1 || spec.activateLast;
}

function hasBn(spec: MlpSpec, l: number): boolean {
  return spec.batchNorm && activated(spec, l);
}

/**
 * Initial parameters (trainable) and running statistics (not trainable) of an MLP, in layout
 * order: per layer W, then b (or gamma, beta with batch norm); statistics mean, var.
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
    if (hasBn(spec, l)) {
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

/** Names of the weight matrices of `spec`, whose transposes `<W>^T` the forward pass reads. */
export function forwardTransposes(spec: MlpSpec): string[] {
  return Array.from({ length: layerCount(spec) }, (_, l) => `${spec.prefix}/${l}/W`);
}

/** [n] -> [n, 1], for per-feature values broadcast over the N columns. */
const column = (t: tf.Tensor): tf.Tensor2D => tf.reshape(t, [-1, 1]);

/**
 * Forward pass, feature-major: xT [in, N] -> [out, N]. Activated layers compute
 * relu(BN(W^T x + b)) (BN only when enabled), the last layer of a non-`activateLast` MLP is linear.
 * `p` must give `<W>^T` ([out, in]) for every layer. When `cache` is given it receives one entry
 * per layer for `mlpBackward`. Batch-norm statistics (per feature, [out]) go to `bn.collect` in
 * 'batch' mode. Call inside `tf.tidy`.
 * @throws Error when batch norm is on and 'running' mode has no `stats`.
 */
export function mlpForward(spec: MlpSpec, p: Lookup, xT: tf.Tensor2D, bn?: BnContext, cache?: LayerCache[]): tf.Tensor2D {
  let h = xT;
  for (let l = 0; l < layerCount(spec); l++) {
    const name = `${spec.prefix}/${l}`;
    const input = h;
    const z = tf.matMul(p(`${name}/W^T`) as tf.Tensor2D, h);
    if (!hasBn(spec, l)) {
      const y = tf.add(z, column(p(`${name}/b`))) as tf.Tensor2D;
      h = activated(spec, l) ? tf.relu(y) : y;
      cache?.push({ input, output: h });
      continue;
    }
    let mean: tf.Tensor, variance: tf.Tensor;
    if (!bn || bn.mode === 'batch') {
      ({ mean, variance } = tf.moments(z, 1, true));
      bn?.collect?.set(`${name}/mean`, tf.reshape(mean, [-1]));
      bn?.collect?.set(`${name}/var`, tf.reshape(variance, [-1]));
    } else {
      if (!bn.stats) throw new Error(`mlpForward(${spec.prefix}): batch norm 'running' mode needs stats`);
      mean = column(bn.stats(`${name}/mean`));
      variance = column(bn.stats(`${name}/var`));
    }
    const std = tf.sqrt(tf.add(variance, BN_EPS));
    const zHat = tf.div(tf.sub(z, mean), std) as tf.Tensor2D;
    h = tf.relu(tf.add(tf.mul(zHat, column(p(`${name}/gamma`))), column(p(`${name}/beta`)))) as tf.Tensor2D;
    cache?.push({ input, output: h, zHat, invStd: tf.reciprocal(std) as tf.Tensor2D });
  }
  return h;
}

/**
 * Backward pass of a 'batch'-mode forward pass, feature-major: given dL/dY^T [out, N], writes
 * dL/dθ of every parameter of the MLP into `grads` (by parameter name, in the parameters' own
 * shapes: W [in, out], b [out]) and returns dL/dX^T [in, N] when `inputGrad`, else null. `p` must
 * give `<W>` ([in, out]) for the layers whose input gradient is needed (every layer but the first,
 * and the first too with `inputGrad`). `paramGrads: false` computes only the input gradient
 * (DDPG's dQ/du through the critic). Call inside `tf.tidy`.
 *
 * Batch-norm layers use the full minibatch gradient (through the batch mean and variance):
 * dz = invStd / N · (N dẑ − Σ dẑ − ẑ Σ(dẑ ⊙ ẑ)), dγ = Σ dout ⊙ ẑ, dβ = Σ dout (sums over samples).
 */
export function mlpBackward(
  spec: MlpSpec,
  p: Lookup,
  cache: LayerCache[],
  dYT: tf.Tensor2D,
  grads: Map<string, tf.Tensor>,
  opts: { inputGrad: boolean; paramGrads?: boolean },
): tf.Tensor2D | null {
  const g = mlpBackwardDownTo(spec, p, cache, dYT, grads, 0, { paramGrads: opts.paramGrads });
  return opts.inputGrad ? (tf.matMul(p(`${spec.prefix}/0/W`) as tf.Tensor2D, g) as tf.Tensor2D) : null;
}

/**
 * The backward pass from the output down to layer `lowest` (parameter gradients of layers
 * `lowest`..last into `grads`); returns G, the gradient with respect to layer `lowest`'s
 * pre-activation [out_lowest, N]. `mlpBackwardBelow` continues from G, possibly on another thread:
 * `handOff(G)`, when given, is called as soon as G is known, before layer `lowest`'s weight
 * gradient (the two-thread NAF update, `agent/naf/parallel.ts`). Call inside `tf.tidy`.
 */
export function mlpBackwardDownTo(
  spec: MlpSpec,
  p: Lookup,
  cache: LayerCache[],
  dYT: tf.Tensor2D,
  grads: Map<string, tf.Tensor>,
  lowest: number,
  opts: { paramGrads?: boolean; handOff?: (G: tf.Tensor2D) => void } = {},
): tf.Tensor2D {
  const paramGrads = opts.paramGrads ?? true;
  let d = dYT;
  for (let l = layerCount(spec) - 1; ; l--) {
    const g = preActivationGrad(spec, p, cache[l], l, d, paramGrads ? grads : null);
    if (l === lowest) opts.handOff?.(g);
    if (paramGrads) {
      grads.set(`${spec.prefix}/${l}/W`, tf.matMul(cache[l].input, tf.transpose(g) as tf.Tensor2D));
      if (!hasBn(spec, l)) grads.set(`${spec.prefix}/${l}/b`, tf.sum(g, 1));
    }
    if (l === lowest) return g;
    d = tf.matMul(p(`${spec.prefix}/${l}/W`) as tf.Tensor2D, g);
  }
}

/**
 * Continues a backward pass below layer `l` from its pre-activation gradient G [out_l, N]: the
 * input gradient W_l G, then the parameter gradients of layers l-1..0 with `cache` (their entries
 * only). `p` must give `<W>` of layers 1..l (and gamma of batch-normalised layers below l). Call
 * inside `tf.tidy`.
 */
export function mlpBackwardBelow(spec: MlpSpec, p: Lookup, cache: LayerCache[], l: number, G: tf.Tensor2D, grads: Map<string, tf.Tensor>): void {
  if (l < 1) return;
  const below: MlpSpec = { ...spec, sizes: spec.sizes.slice(0, l + 1), activateLast: true };
  mlpBackwardDownTo(below, p, cache, tf.matMul(p(`${spec.prefix}/${l}/W`) as tf.Tensor2D, G), grads, 0);
}

/**
 * One layer's backward step up to its pre-activation: g = dL/d(pre-activation) [out, N] of layer l
 * from d = dL/d(output) (through the ReLU and batch norm); batch norm's gamma and beta gradients go
 * to `grads` when given.
 */
function preActivationGrad(spec: MlpSpec, p: Lookup, c: LayerCache, l: number, d: tf.Tensor2D, grads: Map<string, tf.Tensor> | null): tf.Tensor2D {
  const name = `${spec.prefix}/${l}`;
  let g = activated(spec, l) ? (tf.mul(d, tf.step(c.output)) as tf.Tensor2D) : d;
  if (hasBn(spec, l)) {
    const N = g.shape[1];
    const zHat = c.zHat!;
    grads?.set(`${name}/gamma`, tf.sum(tf.mul(g, zHat), 1));
    grads?.set(`${name}/beta`, tf.sum(g, 1));
    const dzHat = tf.mul(g, column(p(`${name}/gamma`)));
    const centred = tf.sub(tf.sub(tf.mul(dzHat, N), tf.sum(dzHat, 1, true)), tf.mul(zHat, tf.sum(tf.mul(dzHat, zHat), 1, true)));
    g = tf.mul(centred, tf.div(c.invStd!, N)) as tf.Tensor2D;
  }
  return g;
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
    const withBn = hasBn(spec, l);
    const b = withBn ? new Float32Array(spec.sizes[l + 1]) : read(`${name}/b`);
    layers.push({ W: read(`${name}/W`), b, inSize: spec.sizes[l], outSize: spec.sizes[l + 1] });
    bn.push(
      withBn
        ? { gamma: read(`${name}/gamma`), beta: read(`${name}/beta`), mean: readStats(`${name}/mean`), variance: readStats(`${name}/var`) }
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
