import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { initBackend } from '../src/agent/backend.js';
import { NafAgent, type NafOptions } from '../src/agent/naf/agent.js';
import type { AgentState, TransitionBatch } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';
import { trainOnBandit, uStar } from './bandit.js';

await initBackend();

const dX = 4;
const dU = 3;
const uMax = new Float64Array([1, 2, 0.5]);
const small: NafOptions = { dX, dU, uMax, hidden: [24, 24], seed: 3 };

function randomBatch(rng: Rng, B: number, o: { dX: number; dU: number; uMax: Float64Array } = small): TransitionBatch {
  const f = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
  const u = new Float32Array(B * o.dU);
  for (let i = 0; i < u.length; i++) u[i] = o.uMax[i % o.dU] * (2 * rng.uniform() - 1);
  return { x: f(B * o.dX), u, r: f(B), x2: f(B * o.dX), terminal: new Float32Array(B), B };
}

function tensors(s: AgentState, prefix: string): Map<string, Float32Array> {
  return new Map(s.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name, t.data]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const [architecture, batchNorm] of [['separate', false], ['shared', false], ['separate', true]] as const) {
  test(`NAF ${architecture}${batchNorm ? ' + batch norm' : ''}: Q(x, mu(x)) = V(x), Q <= V, A = -1/2 d^T (L L^T) d with P SPD`, () => {
    const agent = new NafAgent({ ...small, architecture, batchNorm, lr: 1e-2 });
    const rng = new Rng(1);
    for (let k = 0; k < 5; k++) assert.equal(agent.update(randomBatch(rng, 32)).skipped, false);
    const N = 16;
    const x = randomBatch(rng, N).x;
    const mu = agent.actBatch(x, N);
    const V = agent.valueBatch(x, N);
    const QatMu = agent.qValues(x, mu, N);
    for (let i = 0; i < N; i++) {
      assert.ok(Math.abs(QatMu[i] - V[i]) <= 1e-6 * (1 + Math.abs(V[i])), `Q(x, mu) ${QatMu[i]} != V ${V[i]}`);
      for (let j = 0; j < dU; j++) assert.ok(Math.abs(mu[i * dU + j]) <= uMax[j], 'mu inside the torque bounds');
    }
    const u = randomBatch(rng, N).u;
    const Q = agent.qValues(x, u, N);
    const L = agent.lowerTriangular(x, N);
    for (let i = 0; i < N; i++) {
      assert.ok(Q[i] <= V[i], `Q(x,u) ${Q[i]} > V(x) ${V[i]}`);
      const Li = new Matrix(dU, dU);
      for (let r = 0; r < dU; r++) {
        for (let c = 0; c < dU; c++) {
          const v = L[i * dU * dU + r * dU + c];
          if (c > r) assert.equal(v, 0, 'L is lower-triangular');
          if (c === r) assert.ok(v > 0, 'positive diagonal');
          Li.set(r, c, v);
        }
      }
      const P = Li.mmul(Li.transpose());
      assert.ok(P.isSymmetric());
      assert.ok(new CholeskyDecomposition(P).isPositiveDefinite());
      const d = Matrix.columnVector(Array.from({ length: dU }, (_, j) => u[i * dU + j] - mu[i * dU + j]));
      const A = -0.5 * d.transpose().mmul(P).mmul(d).get(0, 0);
      assert.ok(Math.abs(V[i] + A - Q[i]) <= 1e-4 * (1 + Math.abs(Q[i])), `Q ${Q[i]} != V + A ${V[i] + A}`);
    }
    agent.dispose();
  });
}

for (const [architecture, batchNorm] of [['separate', false], ['shared', false], ['shared', true]] as const) {
  test(`NAF ${architecture}${batchNorm ? ' + batch norm' : ''}: one update changes every online variable (gradients reach V, mu, L)`, async () => {
    const agent = new NafAgent({ ...small, architecture, batchNorm });
    const before = tensors(await agent.getState(), 'online/');
    assert.equal(agent.update(randomBatch(new Rng(2), 32)).skipped, false);
    const after = tensors(await agent.getState(), 'online/');
    const heads = new Set<string>();
    for (const [name, v] of before) {
      assert.ok(maxAbsDiff(v, after.get(name)!) > 0, `${name} did not change`);
      heads.add(name.split('/')[1]);
    }
    assert.deepEqual([...heads].sort(), architecture === 'shared' ? ['L', 'V', 'mu', 'trunk'] : ['L', 'V', 'mu']);
    agent.dispose();
  });
}

test('NAF target: y = r + gamma (1 - terminal) V\'(x\') — hand-computed loss of one update', () => {
  // tau = 1 makes the target network equal the online one after each update, so V'(x') is
  // valueBatch(x') just before the next update. First make V far from zero.
  const agent = new NafAgent({ ...small, gamma: 0.9, tau: 1, lr: 1e-2 });
  const rng = new Rng(4);
  for (let k = 0; k < 30; k++) {
    const b = randomBatch(rng, 32);
    b.r.fill(3);
    agent.update(b);
  }
  const b = randomBatch(rng, 6);
  b.terminal.set([0, 1, 0, 1, 0, 0]);
  const Vnext = agent.valueBatch(b.x2, b.B);
  const Q = agent.qValues(b.x, b.u, b.B);
  assert.ok(Math.min(...Vnext) > 1, `V' should be well away from 0 here, got ${Array.from(Vnext)}`);
  const mse = (y: (i: number) => number) => Q.reduce((s, q, i) => s + (q - y(i)) ** 2, 0) / b.B;
  const expected = mse((i) => b.r[i] + 0.9 * (1 - b.terminal[i]) * Vnext[i]);
  const ignoringTerminal = mse((i) => b.r[i] + 0.9 * Vnext[i]);
  const maskAdded = mse((i) => b.r[i] + 0.9 * (1 - b.terminal[i]) + Vnext[i]); // ikostrikov's old bug
  const stats = agent.update(b);
  assert.equal(stats.skipped, false);
  assert.ok(Math.abs(stats.loss - expected) <= 1e-4 * expected, `loss ${stats.loss}, hand-computed ${expected}`);
  assert.ok(Math.abs(ignoringTerminal - expected) > 0.05 * expected && Math.abs(maskAdded - expected) > 0.05 * expected);
  assert.ok(Math.abs(stats.qMean - Q.reduce((a, q) => a + q, 0) / b.B) < 1e-4 * (1 + Math.abs(stats.qMean)));
  agent.dispose();
});

for (const architecture of ['separate', 'shared'] as const) {
  test(`NAF ${architecture}: soft target update theta' <- tau theta + (1 - tau) theta' on exactly V's weights`, async () => {
    const tau = 0.1;
    const agent = new NafAgent({ ...small, architecture, tau, lr: 1e-2 });
    const rng = new Rng(5);
    agent.update(randomBatch(rng, 16)); // target and online now differ
    const target0 = tensors(await agent.getState(), 'target/');
    agent.update(randomBatch(rng, 16));
    const s = await agent.getState();
    const online1 = tensors(s, 'online/');
    const target1 = tensors(s, 'target/');
    const expectedHeads = architecture === 'shared' ? ['trunk', 'V'] : ['V'];
    assert.deepEqual([...new Set([...target1.keys()].map((n) => n.split('/')[1]))].sort(), expectedHeads.sort());
    assert.equal(target1.size, [...online1.keys()].filter((n) => expectedHeads.includes(n.split('/')[1])).length);
    for (const [name, t1] of target1) {
      const o1 = online1.get(name.replace('target/', 'online/'))!;
      const t0 = target0.get(name)!;
      assert.ok(maxAbsDiff(t1, t0) > 0, `${name} did not move`);
      for (let i = 0; i < t1.length; i++) {
        const want = tau * o1[i] + (1 - tau) * t0[i];
        assert.ok(Math.abs(t1[i] - want) <= 1e-6 * (1 + Math.abs(want)), `${name}[${i}] ${t1[i]} != ${want}`);
      }
    }
    agent.dispose();
  });
}

test('NAF learns a 1-D problem with a known optimum: mu(x) -> u*(x), V -> 1/(1 - gamma), P -> 2', () => {
  // r = 1 - (u - u*(x))^2, u*(x) = 0.3 + 0.5 x, x' = x: Q*(x, u) = r + gamma V*(x), V* = 1/(1 - gamma),
  // A* = -(u - u*)^2, i.e. mu = u*, P = 2.
  const gamma = 0.5;
  const agent = new NafAgent({ dX: 1, dU: 1, uMax: new Float64Array([2]), hidden: [32, 32], lr: 3e-3, gamma, tau: 0.05, seed: 1 });
  trainOnBandit(agent, 600);
  const xs = new Float32Array([-0.8, 0, 0.8]);
  const mu = agent.actBatch(xs, 3);
  const V = agent.valueBatch(xs, 3);
  const L = agent.lowerTriangular(xs, 3);
  xs.forEach((x, i) => {
    assert.ok(Math.abs(mu[i] - uStar(x)) < 0.1, `mu(${x}) = ${mu[i]}, optimum ${uStar(x)}`);
    assert.ok(Math.abs(V[i] - 1 / (1 - gamma)) < 0.25, `V(${x}) = ${V[i]}, optimum ${1 / (1 - gamma)}`);
    assert.ok(Math.abs(L[i] ** 2 - 2) < 0.6, `P(${x}) = ${L[i] ** 2}, optimum 2`);
  });
  agent.dispose();
});

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

function snapshotFinite(agent: NafAgent): boolean {
  const s = agent.snapshot();
  return Object.values(s.heads).every((layers) => layers.every((l) => allFinite(l.W) && allFinite(l.b)));
}

test('NAF divergence guard: a NaN reward is skipped and counted, weights and learning rate untouched', async () => {
  const agent = new NafAgent({ ...small });
  const rng = new Rng(7);
  agent.update(randomBatch(rng, 16));
  const before = await agent.getState();
  const bad = randomBatch(rng, 16);
  bad.r[3] = NaN;
  const stats = agent.update(bad);
  assert.equal(stats.skipped, true);
  assert.equal(agent.divergences, 1);
  assert.equal(agent.updates, 1);
  assert.equal(agent.learningRate, 1e-3);
  const after = await agent.getState();
  for (const t of before.tensors) assert.deepEqual(after.tensors.find((u) => u.name === t.name)!.data, t.data, t.name);
  assert.ok(snapshotFinite(agent));
  agent.dispose();
});

test('NAF divergence guard: an absurd learning rate is rolled back to the last good weights and decayed', async () => {
  const agent = new NafAgent({ ...small, lr: 1e30, divergence: { lrDecay: 0.5 } });
  const rng = new Rng(8);
  const initial = await agent.getState();
  // Adam's first step moves every weight by ~lr: finite (1e30) but poisoned; the next forward overflows.
  const first = agent.update(randomBatch(rng, 16));
  assert.equal(first.skipped, false);
  const second = agent.update(randomBatch(rng, 16));
  assert.equal(second.skipped, true);
  assert.ok(!Number.isFinite(second.loss));
  assert.equal(agent.divergences, 1);
  assert.equal(agent.learningRate, 5e29);
  const restored = await agent.getState();
  for (const t of initial.tensors) {
    assert.deepEqual(restored.tensors.find((u) => u.name === t.name)!.data, t.data, `${t.name} not restored`);
  }
  assert.equal(restored.scalars.adam_t, 0);
  assert.ok(snapshotFinite(agent));
  assert.ok(allFinite(agent.actBatch(randomBatch(rng, 4).x, 4)));
  // a step so large it is already non-finite is never committed
  const inf = new NafAgent({ ...small, lr: 1e39 });
  assert.equal(inf.update(randomBatch(rng, 16)).skipped, true);
  assert.equal(inf.divergences, 1);
  assert.ok(snapshotFinite(inf));
  inf.dispose();
  agent.dispose();
});

test('NAF getState/setState: identical outputs and an identical next update (through structuredClone)', async () => {
  const opts: NafOptions = { ...small, architecture: 'shared', batchNorm: true, lr: 1e-2, tau: 0.05 };
  const a = new NafAgent(opts);
  const rng = new Rng(9);
  for (let k = 0; k < 5; k++) a.update(randomBatch(rng, 16));
  a.update({ ...randomBatch(rng, 16), r: new Float32Array(16).fill(NaN) }); // a counted skip
  const state = structuredClone(await a.getState());
  const b = new NafAgent({ ...opts, seed: 99 });
  const probe = randomBatch(rng, 8);
  assert.notDeepEqual(b.actBatch(probe.x, 8), a.actBatch(probe.x, 8));
  await b.setState(state);
  assert.deepEqual(b.actBatch(probe.x, 8), a.actBatch(probe.x, 8));
  assert.deepEqual(b.valueBatch(probe.x, 8), a.valueBatch(probe.x, 8));
  assert.equal(b.updates, a.updates);
  assert.equal(b.divergences, 1);
  const next = randomBatch(rng, 16);
  assert.deepEqual(b.update(next), a.update(next));
  const sa = await a.getState();
  const sb = await b.getState();
  assert.deepEqual(sb, sa);
  assert.deepEqual(b.snapshot(), a.snapshot());

  await assert.rejects(b.setState({ ...state, kind: 'ddpg' }), /state is for 'ddpg'/);
  await assert.rejects(b.setState({ ...state, scalars: { ...state.scalars, dX: 5 } }), /dX=5/);
  await assert.rejects(b.setState({ ...state, tensors: state.tensors.slice(1) }), /missing tensor 'online\/trunk\/0\/W'/);
  const bad = state.tensors.map((t) => (t.name === 'online/mu/0/b' ? { ...t, shape: [t.data.length, 1] } : t));
  await assert.rejects(b.setState({ ...state, tensors: bad }), /'online\/mu\/0\/b' has shape/);
  a.dispose();
  b.dispose();
});

test('NAF: tensor count stays flat over many updates, queries, skips and rollbacks', async () => {
  const agent = new NafAgent({ ...small, batchNorm: true });
  const rng = new Rng(10);
  const exercise = async (k: number) => {
    agent.update(randomBatch(rng, 16));
    agent.actBatch(randomBatch(rng, 3).x, 3);
    agent.valueBatch(randomBatch(rng, 3).x, 3);
    const b = randomBatch(rng, 3);
    agent.qValues(b.x, b.u, 3);
    agent.lowerTriangular(b.x, 3);
    agent.snapshot();
    if (k % 10 === 0) agent.update({ ...randomBatch(rng, 4), r: new Float32Array(4).fill(NaN) });
    if (k % 25 === 0) await agent.setState(await agent.getState());
  };
  await exercise(0);
  const n0 = tf.memory().numTensors;
  for (let k = 1; k <= 50; k++) await exercise(k);
  assert.equal(tf.memory().numTensors, n0);
  agent.dispose();
  // real rollbacks (absurd lr) do not leak either; dispose frees everything, rollback point included
  const n1 = tf.memory().numTensors;
  const wild = new NafAgent({ ...small, lr: 1e30 });
  assert.equal(wild.update(randomBatch(rng, 8)).skipped, false); // first commit creates the rollback point
  const n2 = tf.memory().numTensors;
  for (let k = 0; k < 6; k++) wild.update(randomBatch(rng, 8));
  assert.ok(wild.divergences >= 2);
  assert.equal(tf.memory().numTensors, n2);
  wild.dispose();
  assert.equal(tf.memory().numTensors, n1);
});

test('NAF: invalid options and inputs give errors naming the problem', async () => {
  assert.throws(() => new NafAgent({ ...small, uMax: new Float64Array([1, 1]) }), /uMax must be a Float64Array of dU=3/);
  assert.throws(() => new NafAgent({ ...small, architecture: 'tree' as never }), /architecture must be/);
  assert.throws(() => new NafAgent({ ...small, lDiagMaxExp: [2, 1] }), /lDiagMaxExp/);
  assert.throws(() => new NafAgent({ ...small, tau: 0 }), /tau must be in \(0, 1\]/);
  assert.throws(() => new NafAgent({ ...small, threads: 3 as never }), /threads must be 1 or 2/);
  assert.throws(() => new NafAgent({ ...small, architecture: 'shared', threads: 2 }), /threads = 2 needs the 'separate' architecture/);
  await assert.rejects(() => new NafAgent(small).startWorker(), /built with threads = 1/);
  const agent = new NafAgent({ ...small, lr: undefined, tau: undefined }); // explicit undefined keeps the default
  assert.equal(agent.learningRate, 1e-3);
  assert.throws(() => agent.update({ ...randomBatch(new Rng(1), 4), r: new Float32Array(3) }), /TransitionBatch.r: expected a Float32Array of 4/);
  assert.throws(() => agent.actBatch(new Float32Array(7), 2), /x must be a Float32Array of N\*dX=8/);
  agent.dispose();
});
