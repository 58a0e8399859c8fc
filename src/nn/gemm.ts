/**
 * Single-precision matrix products for the dense layers of `dense.ts`: a native BLAS when the
 * optional addon `native/blas` (OpenBLAS through Node-API) is built, else nothing — the caller
 * then runs its tfjs path. Loaded once per thread; the outcome, with the reason when it does not
 * load, is logged by the caller.
 *
 * The addon is built at `npm ci` when a C compiler, Node's headers and OpenBLAS
 * (`libopenblas-dev`) are on the machine (`scripts/build_native.mjs`, never failing the install),
 * or by hand with `npm run build:native`.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * C <- op(A) op(B) + beta C, row-major and tightly packed: op(A) [M, K], op(B) [K, N], C [M, N]
 * (op = transpose when the flag is set). A, B, C need at least M*K, K*N, M*N elements (pass
 * `subarray`s for blocks of a larger buffer). beta is 0 (overwrite) or 1 (accumulate).
 * @throws TypeError / RangeError on operands that are not Float32Arrays or too short
 */
export type Sgemm = (transA: boolean, transB: boolean, M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array, beta: 0 | 1) => void;

export interface Gemm {
  sgemm: Sgemm;
  /** what computes it, e.g. "OpenBLAS 0.3.21 ... SkylakeX" */
  name: string;
}

/** Where the built addon is, relative to this file (src/nn/ and, compiled, dist/nn/). */
export const NATIVE_ADDON = new URL('../../native/blas/build/Release/naf_blas.node', import.meta.url);

let loaded: { gemm: Gemm } | { error: string } | null = null;

/**
 * The native GEMM of this thread, or the reason it is not available (addon not built, OpenBLAS
 * library missing at run time, or `NAF_ROS_NATIVE=0` in the environment — a switch for
 * comparisons). Never throws.
 */
export function nativeGemm(): { gemm: Gemm } | { error: string } {
  if (loaded) return loaded;
  if (process.env.NAF_ROS_NATIVE === '0') return (loaded = { error: 'switched off (NAF_ROS_NATIVE=0)' });
  try {
    const addon = createRequire(import.meta.url)(fileURLToPath(NATIVE_ADDON)) as { sgemm: Sgemm; info: () => { blas: string } };
    loaded = { gemm: { sgemm: addon.sgemm, name: addon.info().blas } };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    loaded = { error: /Cannot find module/.test(msg) ? 'the native addon is not built (npm run build:native; needs a C compiler and libopenblas-dev)' : msg };
  }
  return loaded;
}
