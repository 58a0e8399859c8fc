import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/agent/backend.js';
import { ADAM_DEFAULTS, adamStep, clipScale, sumSquares } from '../src/nn/adam.js';
import { FlatState } from '../src/nn/flat_state.js';
import { ParamLayout } from '../src/nn/layout.js';
import { forwardTransposes, mlpBackward, mlpForward, mlpInit, type LayerCache, type MlpSpec } from '../src/nn/mlp.js';
import { featureMajor, lookup, uploadTensors } from '../src/nn/tensors.js';
import { lCount, nafLoss, triIndex, type NafHeadConfig } from '../src/agent/naf/heads.js';
import { Rng } from '../src/util/rng.js';

await initBackend();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The same MLP written with plain tfjs ops, differentiated by tfjs's tape (the reference). */
function referenceMlp(spec: MlpSpec, w: Record<string, tf.Tensor>, x: tf.Tensor2D): tf.Tensor2D {
  let h = x;
  const n = spec.sizes.length - 1;
  for (let l = 0; l < n; l++) {
    const name = `${spec.prefix}/${l}`;
    const act = l < n - 1 || spec.activateLast;
    if (spec.batchNorm && act) {
      const z = tf.matMul(h, w[`${name}/W`] as tf.Tensor2D);
      const { mean, variance } = tf.moments(z, 0);
      h = tf.relu(tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-3))), w[`${name}/gamma`]), w[`${name}/beta`])) as tf.Tensor2D;
    } else {
      const y = tf.add(tf.matMul(h, w[`${name}/W`] as tf.Tensor2D), w[`${name}/b`]) as tf.Tensor2D;
      h = act ? tf.relu(y) : y;
    }
  }
  return h;
}

for (const [label, spec] of [
  ['ReLU MLP, linear output', { prefix: 'a', sizes: [5, 7, 6, 3], activateLast: false, batchNorm: false }],
  ['shared trunk (ReLU output)', { prefix: 't', sizes: [5, 8, 6], activateLast: true, batchNorm: false }],
  ['batch norm', { prefix: 'n', sizes: [5, 7, 6, 2], activateLast: false, batchNorm: true }],
] as [string, MlpSpec][]) {
  test(`mlpBackward equals tfjs's own gradients: ${label} (parameters and input)`, () => {
    const rng = new Rng(label);
    const init = mlpInit(spec, rng).params;
    // Non-trivial BN scales and shifts, so their gradients are tested too.
    for (const p of init) if (/gamma|beta/.test(p.name)) p.data.forEach((_, i) => (p.data[i] = 0.5 + rng.uniform()));
    const layout = new ParamLayout(init);
    const theta = layout.zeros();
    for (const p of init) theta.set(p.data, layout.entry(p.name).offset);
    tf.tidy(() => {
      const N = 9;
      const x = tf.randomNormal([N, spec.sizes[0]], 0, 1, 'float32', 1) as tf.Tensor2D;
      const c = tf.randomNormal([N, spec.sizes.at(-1)!], 0, 1, 'float32', 2); // loss = sum(c * y)
      const up = uploadTensors(layout, theta, forwardTransposes(spec));
      const cache: LayerCache[] = [];
      // The passes are feature-major ([features, N]); the reference is sample-major.
      const y = tf.transpose(mlpForward(spec, lookup(up, 'test'), featureMajor(x.dataSync(), N, spec.sizes[0]), { mode: 'batch' }, cache));
      const grads = new Map<string, tf.Tensor>();
      const dx = tf.transpose(mlpBackward(spec, lookup(up, 'test'), cache, featureMajor(c.dataSync(), N, spec.sizes.at(-1)!), grads, { inputGrad: true })!);
      const names = layout.entries.map((e) => e.name);
      const ref = tf.grads((...args: tf.Tensor[]) => {
        const w = Object.fromEntries(names.map((n, i) => [n, args[i + 1]]));
        return tf.sum(tf.mul(referenceMlp(spec, w, args[0] as tf.Tensor2D), c));
      })([x, ...names.map((n) => up.get(n)!)]);
      const yRef = referenceMlp(spec, Object.fromEntries(names.map((n) => [n, up.get(n)!])), x);
      assert.ok(maxAbsDiff(y.dataSync(), yRef.dataSync()) < 1e-5, 'forward differs');
      assert.ok(maxAbsDiff(dx.dataSync(), ref[0].dataSync()) < 1e-4, 'input gradient differs');
      names.forEach((n, i) => {
        const mine = grads.get(n)!.dataSync();
        const want = ref[i + 1].dataSync();
        assert.ok(maxAbsDiff(mine, want) < 1e-4 * (1 + Math.max(...Array.from(want, Math.abs))), `gradient of ${n} differs`);
      });
      const only = new Map<string, tf.Tensor>();
      const dx2 = tf.transpose(mlpBackward(spec, lookup(up, 'test'), cache, featureMajor(c.dataSync(), N, spec.sizes.at(-1)!), only, { inputGrad: true, paramGrads: false })!);
      assert.equal(only.size, 0, 'paramGrads: false computes no parameter gradient');
      assert.ok(maxAbsDiff(dx2.dataSync(), dx.dataSync()) === 0);
    });
  });
}

test('nafLoss: loss, mean Q and the gradients equal tfjs autodiff of Q = V - 1/2 ||L^T (u - mu)||^2 (clamp edges included)', () => {
  const dU = 3;
  const nL = lCount(dU);
  const N = 7;
  const cfg: NafHeadConfig = { dU, uMax: new Float64Array([0.6, 0.1, 2]), lDiag: [-1, 1] };
  const rng = new Rng(11);
  const f = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
  const V = f(N), z = f(N * dU), l = f(N * nL, 1.5), Vnext = f(N), r = f(N), u = f(N * dU);
  const terminal = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0));
  l[triIndex(1, 1)] = 1; // exactly on the clamp bound: gradient passes (inclusive, as tfjs's clipByValue)
  const gamma = 0.95;
  const mine = nafLoss(cfg, { N, V, z, l, Vnext, u, r, terminal, gamma });
  tf.tidy(() => {
    const S = new Float32Array(nL * dU * dU);
    const diag = new Float32Array(nL);
    for (let i = 0; i < dU; i++) {
      for (let j = 0; j <= i; j++) S[triIndex(i, j) * dU * dU + i * dU + j] = 1;
      diag[triIndex(i, i)] = 1;
    }
    const y = tf.add(tf.tensor1d(r), tf.mul(tf.mul(tf.sub(1, tf.tensor1d(terminal)), gamma), tf.tensor1d(Vnext)));
    const q = (Vt: tf.Tensor, zt: tf.Tensor, lt: tf.Tensor) => {
      const mu = tf.mul(tf.tanh(zt), tf.tensor1d(Float32Array.from(cfg.uMax)));
      const entries = tf.add(tf.mul(lt, tf.tensor1d(diag.map((d) => 1 - d))), tf.mul(tf.exp(tf.clipByValue(lt, -1, 1)), tf.tensor1d(diag)));
      const L = tf.reshape(tf.matMul(entries as tf.Tensor2D, tf.tensor2d(S, [nL, dU * dU])), [N, dU, dU]);
      const w = tf.matMul(tf.reshape(tf.sub(tf.tensor2d(u, [N, dU]), mu), [N, 1, dU]), L); // elementwise L*L^T would be the BY571 bug
      return tf.add(Vt, tf.mul(tf.sum(tf.square(w), [1, 2]), -0.5));
    };
    const loss = (Vt: tf.Tensor, zt: tf.Tensor, lt: tf.Tensor) => tf.mean(tf.squaredDifference(q(Vt, zt, lt), y)) as tf.Scalar;
    const args = [tf.tensor1d(V), tf.tensor2d(z, [N, dU]), tf.tensor2d(l, [N, nL])];
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => loss(a, b, c))(args);
    const L0 = loss(args[0], args[1], args[2]).dataSync()[0];
    assert.ok(Math.abs(mine.loss - L0) <= 1e-5 * L0, `loss ${mine.loss} vs ${L0}`);
    assert.ok(Math.abs(mine.qMean - tf.mean(q(args[0], args[1], args[2])).dataSync()[0]) < 1e-5);
    for (const [name, a, b] of [['dV', mine.dV, g[0]], ['dz', mine.dz, g[1]], ['dl', mine.dl, g[2]]] as const) {
      const want = b.dataSync();
      assert.ok(maxAbsDiff(a, want) < 1e-5 * (1 + Math.max(...Array.from(want, Math.abs))), `${name} differs: ${Array.from(a).slice(0, 6)} vs ${Array.from(b.dataSync()).slice(0, 6)}`);
    }
  });
});

test('flat Adam equals tf.train.adam (Kingma & Ba Algorithm 1) over several steps; global-norm clipping factor', () => {
  const theta0 = [0.5, -1.2, 3, 0.01];
  const gradsAt = (k: number) => Float32Array.from(theta0, (_, i) => Math.sin(3 * k + i) * (i + 1));
  const ref = tf.variable(tf.tensor1d(theta0));
  const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
  const state = new FlatState({ theta: 4, m: 4, v: 4 });
  state.current.theta.set(theta0);
  for (let k = 1; k <= 4; k++) {
    const g = gradsAt(k);
    tf.tidy(() => opt.applyGradients([{ name: ref.name, tensor: tf.tensor1d(g) }]));
    adamStep({ ...state.current, g, out: state.current, start: 0, end: 4, t: k, lr: 0.01, scale: 1, cfg: ADAM_DEFAULTS });
    const a = state.current.theta;
    const b = ref.dataSync();
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `step ${k}: ${a[i]} vs tf.train.adam ${b[i]}`);
  }
  ref.dispose();
  opt.dispose();
  assert.throws(() => adamStep({ ...state.current, g: gradsAt(1), out: state.current, start: 0, end: 4, t: 0, lr: 0.01, scale: 1, cfg: ADAM_DEFAULTS }), /t must be >= 1/);
  assert.equal(adamStep({ ...state.current, g: gradsAt(1), out: state.current, start: 0, end: 4, t: 5, lr: 1e42, scale: 1, cfg: ADAM_DEFAULTS }), false, 'a step beyond float32 is reported');
  const g = new Float32Array([3, 0, 0, 4]);
  assert.equal(Math.sqrt(sumSquares(g)), 5);
  assert.equal(clipScale(5, 1), 0.2);
  assert.equal(clipScale(0.5, 1), 1, 'below the bound: unchanged');
  assert.equal(clipScale(5, 0), 1, 'maxNorm 0 turns clipping off');
});

test('ParamLayout: offsets in order, contiguous ranges, errors naming the problem', () => {
  const layout = new ParamLayout([{ name: 'V/0/W', shape: [2, 3] }, { name: 'V/0/b', shape: [3] }, { name: 'mu/0/W', shape: [2, 2] }]);
  assert.equal(layout.size, 13);
  assert.deepEqual(layout.range(['V/']), [0, 9]);
  assert.deepEqual(layout.entry('mu/0/W').offset, 9);
  const buf = Float32Array.from({ length: 13 }, (_, i) => i);
  assert.deepEqual(Array.from(layout.view(buf, 'V/0/b')), [6, 7, 8]);
  assert.throws(() => layout.entry('L/0/W'), /no tensor 'L\/0\/W'/);
  assert.throws(() => new ParamLayout([{ name: 'a', shape: [2] }, { name: 'a', shape: [1] }]), /duplicate tensor 'a'/);
  assert.throws(() => new ParamLayout([{ name: 'a', shape: [2, 0] }]), /positive integers/);
  const split = new ParamLayout([{ name: 'V/a', shape: [1] }, { name: 'mu/a', shape: [1] }, { name: 'V/b', shape: [1] }]);
  assert.throws(() => split.range(['V/']), /not contiguous/);
});

test('FlatState: in-place steps; the rollback point is the state before the last committed step', () => {
  const s = new FlatState({ w: 2 });
  s.current.w.set([1, 1]);
  assert.equal(s.rollback(), null, 'no rollback point and no step: nothing changes');
  assert.deepEqual(Array.from(s.current.w), [1, 1]);
  s.beginStep({ t: 0 });
  s.current.w.set([9, 9]);
  assert.equal(s.rollback(), null, 'no rollback point yet: the step in progress is undone');
  assert.deepEqual(Array.from(s.current.w), [1, 1]);
  s.beginStep({ t: 0 });
  s.current.w.set([2, 2]);
  s.commit(); // rollback point: [1, 1]
  s.beginStep({ t: 1 });
  s.beginStep({ t: 99 }); // idempotent within a step
  s.current.w.set([3, 3]);
  s.commit(); // rollback point: [2, 2]
  s.beginStep({ t: 2 });
  s.current.w.set([NaN, 4]);
  assert.deepEqual(s.rollback(), { t: 1 });
  assert.deepEqual(Array.from(s.current.w), [2, 2], 'back to the state before the last committed step');
  assert.throws(() => s.commit(), /no step in progress/);
  s.beginStep({ t: 1 });
  s.current.w.set([7, 7]);
  s.abortStep(); // a step that threw: back to before it, the rollback point unchanged
  assert.deepEqual(Array.from(s.current.w), [2, 2]);
  assert.deepEqual(s.rollback(), { t: 1 });
  s.forget();
  assert.equal(s.rollback(), null);
});
