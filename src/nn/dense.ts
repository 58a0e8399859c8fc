/**
 * An MLP's forward and backward passes on flat float32 buffers with a native GEMM (`gemm.ts`):
 * the same layers and maths as the tfjs passes of `mlp.ts` (ReLU hidden layers, linear output
 * unless `activateLast`), without tensors — the weights are read from, and the gradients written
 * into, the learner's flat parameter and gradient buffers (`layout.ts`) in place.
 *
 * Sample-major (row-major [N, features]) activations, the BLAS convention: layer l computes
 * Y = act(X W + b) with W [in, out] as stored; backward, from dL/dY:
 *   G = dL/dY ⊙ relu'(Y)   (activated layers; G = dL/dY for a linear one)
 *   dL/dW = X^T G,  dL/db = sum over samples of G,  dL/dX = G W^T.
 * The products run in the GEMM; the elementwise parts (bias + ReLU, ReLU's backward, the bias
 * gradient) in the wasm SIMD kernels (`kernels.wat`), over activations kept on this instance's own
 * kernel memory. Batch normalisation is not implemented here (the tfjs passes have it).
 *
 * A `DenseMlp` keeps the activations of its last `forward` for `backward` (one instance per
 * role: the online V network and the target V' network are two).
 */
import type { Gemm } from './gemm.js';
import { KernelMemory, alignedFloats } from './kernels.js';
import type { ParamLayout } from './layout.js';
import { layerCount, activated, type MlpSpec } from './mlp.js';

interface Layer {
  inSize: number;
  outSize: number;
  /** offsets of W [in*out] and b [out] in the parameter (and gradient) buffer */
  W: number;
  b: number;
  relu: boolean;
}

/** Activation buffers for `capacity` samples on one kernel memory. */
interface Buffers {
  capacity: number;
  k: KernelMemory;
  /** layer l's output [N, out_l] */
  out: Float32Array[];
  /** dL/d(output of layer l) during backward, [N, out_l] (G in place) */
  delta: Float32Array[];
  /** one layer's bias, copied in (the kernels read one memory), and its gradient */
  bias: Float32Array;
  biasGrad: Float32Array;
}

export class DenseMlp {
  private readonly layers: Layer[];
  private buf: Buffers | null = null;
  /** input of the last forward [N, in] (the caller's buffer) */
  private input: Float32Array = new Float32Array(0);
  private rows = 0;

  /**
   * @param layout where `<prefix>/<l>/W` and `b` are in the buffers `forward` and `backward` get
   * @throws Error when the spec has batch normalisation or the layout lacks a tensor
   */
  constructor(readonly spec: MlpSpec, layout: ParamLayout, private readonly gemm: Gemm) {
    if (spec.batchNorm) throw new Error(`DenseMlp(${spec.prefix}): batch normalisation is not implemented on the native path`);
    this.layers = Array.from({ length: layerCount(spec) }, (_, l) => ({
      inSize: spec.sizes[l],
      outSize: spec.sizes[l + 1],
      W: layout.entry(`${spec.prefix}/${l}/W`).offset,
      b: layout.entry(`${spec.prefix}/${l}/b`).offset,
      relu: activated(spec, l),
    }));
  }

  get outSize(): number {
    return this.spec.sizes[this.spec.sizes.length - 1];
  }

  /**
   * Y = MLP(X): X [N, in] row-major -> Y [N, out] (a view on this instance's memory, valid until
   * the next `forward`). theta holds the weights at the layout's offsets. X is read again by
   * `backward`: the caller keeps it unchanged until then.
   */
  forward(theta: Float32Array, X: Float32Array, N: number): Float32Array {
    const buf = this.reserve(N);
    this.rows = N;
    this.input = X.subarray(0, N * this.spec.sizes[0]);
    let x: Float32Array = this.input;
    for (let l = 0; l < this.layers.length; l++) {
      const { inSize, outSize, W, b, relu } = this.layers[l];
      const Y = buf.out[l].subarray(0, N * outSize);
      this.gemm.sgemm(false, false, N, outSize, inSize, x, theta.subarray(W, W + inSize * outSize), Y, 0);
      buf.bias.set(theta.subarray(b, b + outSize));
      buf.k.biasRelu(Y, buf.bias, N, outSize, relu);
      x = Y;
    }
    return x;
  }

  /**
   * Backward pass of the last `forward`: dY = dL/dY [N, out] (read, not kept) -> dL/dθ of every
   * layer written into `grad` at the layout's offsets (overwriting them), and dL/dX [N, in] into
   * `dX.into` when given (added to it when `accumulate`: a shared trunk's features feed three heads).
   */
  backward(theta: Float32Array, dY: Float32Array, grad: Float32Array, dX?: { into: Float32Array; accumulate: boolean }): void {
    const buf = this.buf!;
    const N = this.rows;
    const top = this.layers.length - 1;
    buf.delta[top].set(dY.subarray(0, N * this.outSize));
    for (let l = top; l >= 0; l--) {
      const { inSize, outSize, W, b, relu } = this.layers[l];
      const G = buf.delta[l].subarray(0, N * outSize);
      if (relu) buf.k.reluGrad(G, buf.out[l]);
      buf.k.colSums(G, N, outSize, buf.biasGrad);
      grad.set(buf.biasGrad.subarray(0, outSize), b);
      const x = l > 0 ? buf.out[l - 1].subarray(0, N * inSize) : this.input;
      this.gemm.sgemm(true, false, inSize, outSize, N, x, G, grad.subarray(W, W + inSize * outSize), 0);
      const w = theta.subarray(W, W + inSize * outSize);
      if (l > 0) this.gemm.sgemm(false, true, N, inSize, outSize, G, w, buf.delta[l - 1], 0);
      else if (dX) this.gemm.sgemm(false, true, N, inSize, outSize, G, w, dX.into, dX.accumulate ? 1 : 0);
    }
  }

  /** Buffers for at least N samples (grown, never shrunk). */
  private reserve(N: number): Buffers {
    if (this.buf && N <= this.buf.capacity) return this.buf;
    const widest = Math.max(...this.layers.map((L) => L.outSize));
    const floats = 2 * this.layers.reduce((a, L) => a + alignedFloats(N * L.outSize), 0) + 2 * alignedFloats(widest);
    const k = KernelMemory.create(floats);
    this.buf = {
      capacity: N,
      k,
      out: this.layers.map((L) => k.alloc(N * L.outSize)),
      delta: this.layers.map((L) => k.alloc(N * L.outSize)),
      bias: k.alloc(widest),
      biasGrad: k.alloc(widest),
    };
    return this.buf;
  }
}
