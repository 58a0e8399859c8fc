/*
 * naf_blas: single-precision GEMM from a BLAS library (OpenBLAS; any CBLAS links), for the NAF
 * update's dense layers (src/nn/gemm.ts, src/nn/dense.ts). Node-API, context-aware (it loads in
 * worker threads).
 *
 *   sgemm(transA, transB, M, N, K, A, B, C, beta)
 *     C <- op(A) op(B) + beta C, row-major and tightly packed: op(A) [M, K], op(B) [K, N], C [M, N];
 *     A, B, C are Float32Arrays (any buffer: ArrayBuffer, SharedArrayBuffer, wasm memory) of at
 *     least M*K, K*N, M*N elements; beta is 0 or 1. Throws TypeError / RangeError on bad arguments.
 *   info() -> { blas: string, threads: number }
 *
 * Each call runs on the calling thread (BLAS threading set to 1 at load): the learner's own
 * threads are the parallelism, and a BLAS thread pool would compete with the control loop. The
 * CPU's flush-to-zero and denormals-are-zero modes are set for the duration of a call only
 * (x86): subnormal activations and gradients slow SIMD arithmetic ~40x, and JavaScript itself
 * must keep IEEE subnormals, so the mode is restored before returning.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <cblas.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u
#endif

extern void openblas_set_num_threads(int) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      napi_throw_error(env, NULL, "naf_blas: Node-API call failed: " #call);        \
      return NULL;                                                                  \
    }                                                                               \
  } while (0)

/* The float data of argument v (a Float32Array of at least `need` elements), or NULL after throwing. */
static float *floats(napi_env env, napi_value v, int64_t need, const char *name) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    napi_throw_type_error(env, NULL, name);
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, name);
    return NULL;
  }
  if ((int64_t)length < need) {
    napi_throw_range_error(env, NULL, "naf_blas.sgemm: an operand has fewer elements than its shape needs");
    return NULL;
  }
  return (float *)data;
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) {
    napi_throw_type_error(env, NULL, "naf_blas.sgemm(transA, transB, M, N, K, A, B, C, beta): 9 arguments");
    return NULL;
  }
  bool tA = false, tB = false;
  CHECK(napi_get_value_bool(env, argv[0], &tA));
  CHECK(napi_get_value_bool(env, argv[1], &tB));
  int64_t M = 0, N = 0, K = 0;
  double beta = 0;
  CHECK(napi_get_value_int64(env, argv[2], &M));
  CHECK(napi_get_value_int64(env, argv[3], &N));
  CHECK(napi_get_value_int64(env, argv[4], &K));
  CHECK(napi_get_value_double(env, argv[8], &beta));
  if (M < 1 || N < 1 || K < 1 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || (beta != 0 && beta != 1)) {
    napi_throw_range_error(env, NULL, "naf_blas.sgemm: M, N, K must be positive 32-bit integers and beta 0 or 1");
    return NULL;
  }
  const float *A = floats(env, argv[5], M * K, "naf_blas.sgemm: A must be a Float32Array");
  if (!A) return NULL;
  const float *B = floats(env, argv[6], K * N, "naf_blas.sgemm: B must be a Float32Array");
  if (!B) return NULL;
  float *C = floats(env, argv[7], M * N, "naf_blas.sgemm: C must be a Float32Array");
  if (!C) return NULL;
#ifdef FTZ_DAZ
  const unsigned int csr = _mm_getcsr();
  _mm_setcsr(csr | FTZ_DAZ);
#endif
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, A,
              tA ? (int)M : (int)K, B, tB ? (int)K : (int)N, (float)beta, C, (int)N);
#ifdef FTZ_DAZ
  _mm_setcsr(csr);
#endif
  return NULL;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, s, n;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, openblas_get_config ? openblas_get_config() : "CBLAS", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "blas", s));
  CHECK(napi_create_int32(env, openblas_get_num_threads ? openblas_get_num_threads() : 1, &n));
  CHECK(napi_set_named_property(env, out, "threads", n));
  return out;
}

NAPI_MODULE_INIT() {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  napi_value f;
  if (napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, Sgemm, NULL, &f) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sgemm", f) != napi_ok) return NULL;
  if (napi_create_function(env, "info", NAPI_AUTO_LENGTH, Info, NULL, &f) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "info", f) != napi_ok) return NULL;
  return exports;
}
