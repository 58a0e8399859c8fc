/**
 * The wasm SIMD kernels (`src/nn/kernels.wat`): the committed module is the assembled source, and
 * each kernel equals the plain-JS implementation of `adam.ts` to float32 rounding, on plain and
 * shared memories, with ranges that do not start or end on a 4-float boundary; Adam flushes
 * subnormals on both paths; the dense-layer kernels equal plain loops exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { assembleKernels, OUT_PATH } from '../scripts/build_kernels.js';
import { ADAM_DEFAULTS, adamStep, softUpdate, sumSquares } from '../src/nn/adam.js';
import { FlatState } from '../src/nn/flat_state.js';
import { KernelMemory, alignedFloats, kernelMemoryOf } from '../src/nn/kernels.js';
import { Rng } from '../src/util/rng.js';

const close = (a: number, b: number, rtol: number, atol: number) => Math.abs(a - b) <= atol + rtol * Math.abs(b);

test('kernels_wasm.ts is current: the committed module equals kernels.wat assembled (npm run build:kernels)', async () => {
  assert.equal(readFileSync(OUT_PATH, 'utf8'), await assembleKernels());
});

for (const shared of [false, true]) {
  test(`wasm kernels (${shared ? 'shared' : 'plain'} memory) equal the JS loops: Adam, soft update, sum of squares`, () => {
    const n = 1003;
    const rng = new Rng(7);
    const mem = KernelMemory.create(5 * 1004 + 4, shared);
    const fill = (a: Float32Array, s: number, pos = false) => { for (let i = 0; i < a.length; i++) a[i] = pos ? s * rng.normal() ** 2 : s * rng.normal(); return a; };
    const [theta, m, v, g] = [fill(mem.alloc(n), 0.3), fill(mem.alloc(n), 0.01), fill(mem.alloc(n), 1e-4, true), fill(mem.alloc(n), 0.5)];
    assert.equal(kernelMemoryOf(theta, m, v, g), mem, 'the buffers are found on their memory');
    const copy = (a: Float32Array) => Float32Array.from(a);
    const ref = { theta: copy(theta), m: copy(m), v: copy(v), g: copy(g) };
    assert.equal(kernelMemoryOf(ref.theta), null, 'plain arrays use the JS loop');
    for (let t = 1; t <= 5; t++) {
      const range = { start: 3, end: 1001, t, lr: 1e-2, scale: 0.7, cfg: ADAM_DEFAULTS };
      assert.equal(adamStep({ theta, m, v, g, out: { theta, m, v }, ...range }), true);
      assert.equal(adamStep({ ...ref, out: ref, ...range }), true);
    }
    // float32 against float64 arithmetic: a few float32 roundings of each term (an absolute floor
    // where a difference of similar terms cancels: steps of lr 1e-2, gradients ~0.35).
    const atol = { theta: 2e-8, m: 1e-8, v: 1e-9 };
    for (const k of ['theta', 'm', 'v'] as const) {
      const [a, b] = [{ theta, m, v }[k], ref[k]];
      for (let i = 0; i < n; i++) assert.ok(close(a[i], b[i], 2e-6, atol[k]), `${k}[${i}]: kernel ${a[i]}, JS ${b[i]}`);
      assert.equal(a[2], b[2], `${k}: elements before the range are untouched`);
      assert.equal(a[1001], b[1001], `${k}: elements after the range are untouched`);
    }
    assert.equal(adamStep({ theta, m, v, g, out: { theta, m, v }, start: 0, end: n, t: 6, lr: 1e42, scale: 1, cfg: ADAM_DEFAULTS }), false, 'a weight beyond float32 is reported');
    g[1002] = NaN;
    assert.equal(adamStep({ theta, m, v, g, out: { theta, m, v }, start: 1000, end: n, t: 7, lr: 1e-3, scale: 1, cfg: ADAM_DEFAULTS }), false, 'a NaN in the scalar tail is reported');
    assert.throws(() => adamStep({ theta, m, v, g, out: { theta, m, v }, start: 0, end: n + 1, t: 1, lr: 1e-3, scale: 1, cfg: ADAM_DEFAULTS }), RangeError);

    fill(theta, 0.3); // the failed steps above wrote non-finite weights (the guard would roll back)
    const target = fill(mem.alloc(997), 0.2);
    const targetRef = copy(target);
    softUpdate(target, theta, 5, 0.01);
    softUpdate(targetRef, copy(theta), 5, 0.01);
    for (let i = 0; i < target.length; i++) assert.ok(close(target[i], targetRef[i], 1e-6, 1e-12), `target[${i}]`);
    assert.throws(() => softUpdate(target, theta, 7, 0.01), RangeError);

    fill(g, 3);
    const s = sumSquares(g, 1, 1002);
    const sRef = sumSquares(copy(g), 1, 1002);
    assert.ok(close(s, sRef, 1e-12, 0), `sum of squares: kernel ${s}, JS ${sRef}`);
    assert.throws(() => mem.alloc(1 << 20), /out of space/);
  });
}

test('FlatState puts its state and scratch buffers on one kernel memory; a worker-style attach sees the same floats', () => {
  const s = new FlatState({ theta: 10, m: 10, v: 10 }, { shared: true, scratch: { grad: 10 } });
  const { theta, m, v } = s.current;
  assert.equal(kernelMemoryOf(theta, m, v, s.scratch.grad), s.memory);
  assert.ok(theta.buffer instanceof SharedArrayBuffer);
  const other = KernelMemory.attach(s.memory.memory);
  const view = other.view(theta);
  theta[3] = 42;
  assert.equal(view[3], 42);
  assert.equal(new FlatState({ w: 3 }).current.w.buffer instanceof SharedArrayBuffer, false, 'not shared unless asked');
});

test('Adam flushes subnormal gradients and moments to zero, in the kernel and the JS loop alike', () => {
  const mem = KernelMemory.create(4 * 8);
  const [theta, m, v, g] = [mem.alloc(7), mem.alloc(7), mem.alloc(7), mem.alloc(7)];
  const tiny = 1e-39; // float32 subnormal (below 2^-126 = 1.18e-38)
  const init = () => { theta.fill(0.5); m.fill(tiny); v.fill(tiny); g.fill(0); g[1] = tiny; g[2] = 1e-3; m[3] = 2e-38; };
  for (const kernel of [true, false]) {
    init();
    const ref = { theta: Float32Array.from(theta), m: Float32Array.from(m), v: Float32Array.from(v), g: Float32Array.from(g) };
    const bufs = kernel ? { theta, m, v, g } : ref;
    assert.equal(adamStep({ ...bufs, out: bufs, start: 0, end: 7, t: 1, lr: 1e-3, scale: 1, cfg: ADAM_DEFAULTS }), true);
    const label = kernel ? 'kernel' : 'JS';
    for (const i of [0, 1, 4, 5, 6]) {
      assert.equal(bufs.m[i], 0, `${label}: m[${i}] flushed`);
      assert.equal(bufs.v[i], 0, `${label}: v[${i}] flushed`);
      assert.equal(bufs.theta[i], 0.5, `${label}: theta[${i}] unmoved`);
    }
    // 2e-38 decays to 1.8e-38: still normal, kept (0.9 x m in float32)
    assert.ok(Math.abs(bufs.m[3] - 1.8e-38) < 1e-44, `${label}: a normal m is kept (${bufs.m[3]})`);
    assert.ok(bufs.m[2] > 0 && bufs.v[2] > 0 && bufs.theta[2] < 0.5, `${label}: a normal gradient steps as usual`);
  }
});

test('dense-layer kernels equal the JS loops: bias + ReLU, ReLU backward, column sums (widths not a multiple of 4)', () => {
  const rng = new Rng(11);
  for (const cols of [1, 3, 6, 200, 203]) {
    const rows = 13;
    const mem = KernelMemory.create(4 * alignedFloats(rows * cols) + 2 * alignedFloats(cols));
    const Y = mem.alloc(rows * cols), b = mem.alloc(cols), G = mem.alloc(rows * cols), out = mem.alloc(cols);
    for (let i = 0; i < Y.length; i++) { Y[i] = rng.normal(); G[i] = rng.normal(); }
    for (let j = 0; j < cols; j++) b[j] = rng.normal();
    Y[0] = NaN;
    for (const relu of [false, true]) {
      const y = Float32Array.from(Y);
      const want = Float32Array.from(Y, (v, i) => { const s = Math.fround(v + b[i % cols]); return relu ? (Number.isNaN(s) ? NaN : Math.max(s, 0)) : s; });
      mem.biasRelu(Y, b, rows, cols, relu);
      assert.deepEqual(Array.from(Y), Array.from(want), `biasRelu cols ${cols} relu ${relu}`);
      Y.set(y);
    }
    const Gk = Float32Array.from(G);
    const want = Float32Array.from(G, (g, i) => (Y[i] > 0 ? g : 0));
    mem.reluGrad(G, Y);
    assert.deepEqual(Array.from(G), Array.from(want), `reluGrad cols ${cols}`);
    G.set(Gk);
    mem.colSums(G, rows, cols, out);
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s = Math.fround(s + G[i * cols + j]);
      assert.equal(out[j], s, `colSums cols ${cols} column ${j}`);
    }
    assert.throws(() => mem.colSums(G, rows, cols, new Float32Array(cols)), RangeError, 'an operand off the memory is refused');
  }
});
