/**
 * A learner's flat float32 buffers in one WebAssembly memory, and the SIMD kernels of
 * `kernels.wat` that run over them: Adam, the soft target update and the squared gradient norm
 * four floats per instruction (Adam over the NAF networks' 130k weights: ~5 ns per weight as a
 * JS loop, ~0.5 ns here, measured on this project's 2-core machine).
 *
 * Buffers are carved from the memory by `alloc` (16-byte aligned, never moved: the memory does
 * not grow). A shared memory (SharedArrayBuffer) can be handed to a worker, which `attach`es it and
 * takes `view`s of the same buffers. `kernelMemoryOf` finds the memory a buffer lives on, so the
 * plain functions of `adam.ts` use the kernels whenever their operands allow it.
 */
import { KERNELS_PLAIN, KERNELS_SHARED } from './kernels_wasm.js';

interface KernelExports {
  adam(theta: number, m: number, v: number, g: number, n: number, lrT: number, epsT: number, k1: number, k2: number, scale: number): number;
  soft_update(target: number, theta: number, n: number, tau: number): void;
  sum_squares(g: number, n: number): number;
  bias_relu(y: number, b: number, rows: number, cols: number, relu: number): void;
  relu_grad(g: number, y: number, n: number): void;
  col_sums(g: number, rows: number, cols: number, out: number): void;
}

const PAGE = 65536;
const modules = new Map<boolean, WebAssembly.Module>();
/** memory buffer -> its kernels (in this thread) */
const registry = new WeakMap<ArrayBufferLike, KernelMemory>();

function compiled(shared: boolean): WebAssembly.Module {
  let m = modules.get(shared);
  if (!m) {
    m = new WebAssembly.Module(Buffer.from(shared ? KERNELS_SHARED : KERNELS_PLAIN, 'base64'));
    modules.set(shared, m);
  }
  return m;
}

/** Float count rounded up to whole 16-byte blocks (the allocation unit). */
export function alignedFloats(n: number): number {
  return Math.ceil(n / 4) * 4;
}

export class KernelMemory {
  private readonly k: KernelExports;
  private readonly buffer: ArrayBufferLike;
  private used = 0;

  private constructor(readonly memory: WebAssembly.Memory, readonly shared: boolean) {
    this.k = new WebAssembly.Instance(compiled(shared), { env: { memory } }).exports as unknown as KernelExports;
    this.buffer = memory.buffer;
    registry.set(this.buffer, this);
  }

  /**
   * A memory for `floats` float32 values in total (sum of `alignedFloats` of the planned `alloc`s).
   * @param shared on a SharedArrayBuffer (for a worker thread to `attach`)
   * @throws RangeError when floats is negative or beyond the 4 GiB of a wasm memory
   */
  static create(floats: number, shared = false): KernelMemory {
    if (!(floats >= 0 && floats * 4 <= 65536 * PAGE)) throw new RangeError(`KernelMemory: cannot hold ${floats} floats`);
    const pages = Math.max(1, Math.ceil((floats * 4) / PAGE));
    return new KernelMemory(new WebAssembly.Memory({ initial: pages, maximum: pages, shared }), shared);
  }

  /** The kernels of another thread's shared memory (pass `memory` in workerData). */
  static attach(memory: WebAssembly.Memory): KernelMemory {
    return new KernelMemory(memory, memory.buffer instanceof SharedArrayBuffer);
  }

  /**
   * n zero-filled floats, 16-byte aligned, for the memory's lifetime.
   * @throws RangeError when the memory is full
   */
  alloc(n: number): Float32Array {
    const size = alignedFloats(n);
    if ((this.used + size) * 4 > this.buffer.byteLength) throw new RangeError(`KernelMemory: out of space (${n} floats asked, ${this.buffer.byteLength / 4 - this.used} free)`);
    const a = new Float32Array(this.buffer, this.used * 4, n);
    this.used += size;
    return a;
  }

  /** This thread's view of a buffer that another thread allocated on the same (shared) memory. */
  view(a: Float32Array): Float32Array {
    return new Float32Array(this.buffer, a.byteOffset, a.length);
  }

  /** True when every array is a view on this memory (in this thread). */
  holds(...arrays: Float32Array[]): boolean {
    return arrays.every((a) => a.buffer === this.buffer);
  }

  /**
   * Adam in place on elements [start, end) of theta, m, v with gradient `scale * g` (float32
   * arithmetic; `adam.ts` `adamStep` gives the formula and the meaning of lrT, epsT, k1 = 1 - beta1,
   * k2 = 1 - beta2). Returns false when a new weight is NaN or beyond ±F32_MAX.
   */
  adam(theta: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, start: number, end: number, lrT: number, epsT: number, k1: number, k2: number, scale: number): boolean {
    const o = 4 * start;
    return this.k.adam(theta.byteOffset + o, m.byteOffset + o, v.byteOffset + o, g.byteOffset + o, end - start, lrT, epsT, k1, k2, scale) === 1;
  }

  /** target[i] <- tau theta[offset + i] + (1 - tau) target[i] for every element of target. */
  softUpdate(target: Float32Array, theta: Float32Array, offset: number, tau: number): void {
    this.k.soft_update(target.byteOffset, theta.byteOffset + 4 * offset, target.length, tau);
  }

  /** Y [rows, cols] row-major <- Y + b (b [cols], broadcast over rows), then max(., 0) when `relu` (`dense.ts`). */
  biasRelu(Y: Float32Array, b: Float32Array, rows: number, cols: number, relu: boolean): void {
    this.check('biasRelu', rows * cols <= Y.length && cols <= b.length, Y, b);
    this.k.bias_relu(Y.byteOffset, b.byteOffset, rows, cols, relu ? 1 : 0);
  }

  /** G <- G where Y > 0, else 0, elementwise over G's length (ReLU's backward). */
  reluGrad(G: Float32Array, Y: Float32Array): void {
    this.check('reluGrad', G.length <= Y.length, G, Y);
    this.k.relu_grad(G.byteOffset, Y.byteOffset, G.length);
  }

  /** out[j] <- sum over the rows of G [rows, cols] row-major, column j (float32, in row order). */
  colSums(G: Float32Array, rows: number, cols: number, out: Float32Array): void {
    this.check('colSums', rows * cols <= G.length && cols <= out.length, G, out);
    this.k.col_sums(G.byteOffset, rows, cols, out.byteOffset);
  }

  /** @throws RangeError unless `sizes` holds and every array is a view on this memory. */
  private check(who: string, sizes: boolean, ...arrays: Float32Array[]): void {
    if (!sizes || !this.holds(...arrays)) throw new RangeError(`KernelMemory.${who}: operands too short or not on this memory`);
  }

  /** Sum of squares of g[start, end), accumulated in float64. */
  sumSquares(g: Float32Array, start: number, end: number): number {
    return this.k.sum_squares(g.byteOffset + 4 * start, end - start);
  }
}

/** The kernel memory (of this thread) that every array is a view on, or null. */
export function kernelMemoryOf(...arrays: Float32Array[]): KernelMemory | null {
  const k = registry.get(arrays[0].buffer) ?? null;
  return k && k.holds(...arrays) ? k : null;
}
