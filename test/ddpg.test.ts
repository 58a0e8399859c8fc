import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createActor } from '../src/agent/actor.js';
import { initBackend } from '../src/agent/backend.js';
import { DdpgAgent, type DdpgOptions } from '../src/agent/ddpg/agent.js';
import type { AgentState, TransitionBatch } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';
import { trainOnBandit, uStar } from './bandit.js';

await initBackend();

const dX = 4;
const dU = 2;
const uMax = new Float64Array([1, 2]);
const small: DdpgOptions = { dX, dU, uMax, hidden: [24, 24], seed: 3 };

function randomBatch(rng: Rng, B: number): TransitionBatch {
  const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const u = new Float32Array(B * dU);
  for (let i = 0; i < u.length; i++) u[i] = uMax[i % dU] * (2 * rng.uniform() - 1);
  return { x: f(B * dX), u, r: f(B), x2: f(B * dX), terminal: new Float32Array(B), B };
}

function tensors(s: AgentState, prefix: string): Map<string, Float32Array> {
  return new Map(s.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name, t.data]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('DDPG: the critic takes the action at its second hidden layer; actor outputs inside the bounds', () => {
  const agent = new DdpgAgent({ ...small, hidden: [24, 16] });
  assert.deepEqual(agent.net.specs.Q_x.sizes, [dX, 24]);
  assert.deepEqual(agent.net.specs.Q_xu.sizes, [24 + dU, 16, 1]);
  assert.deepEqual(agent.net.specs.mu.sizes, [dX, 24, 16, dU]);
  const x = randomBatch(new Rng(1), 50).x;
  const mu = agent.actBatch(x, 50);
  mu.forEach((m, i) => assert.ok(Math.abs(m) <= uMax[i % dU]));
  // V(x) = Q(x, mu(x))
  const V = agent.valueBatch(x, 50);
  const Q = agent.qValues(x, mu, 50);
  V.forEach((v, i) => assert.ok(Math.abs(v - Q[i]) <= 1e-6 * (1 + Math.abs(v))));
  agent.dispose();
});

for (const batchNorm of [false, true]) {
  test(`DDPG${batchNorm ? ' + batch norm' : ''}: one update changes every actor and critic variable; targets move by tau`, async () => {
    const tau = 0.2;
    const agent = new DdpgAgent({ ...small, batchNorm, tau });
    const before = await agent.getState();
    assert.equal(agent.update(randomBatch(new Rng(2), 32)).skipped, false);
    const after = await agent.getState();
    const on0 = tensors(before, 'online/');
    const on1 = tensors(after, 'online/');
    const heads = new Set<string>();
    for (const [name, v] of on0) {
      assert.ok(maxAbsDiff(v, on1.get(name)!) > 0, `${name} did not change`);
      heads.add(name.split('/')[1]);
    }
    assert.deepEqual([...heads].sort(), ['Q_x', 'Q_xu', 'mu']);
    const t0 = tensors(before, 'target/');
    const t1 = tensors(after, 'target/');
    assert.equal(t1.size, on1.size, 'targets for both actor and critic');
    for (const [name, v1] of t1) {
      const o1 = on1.get(name.replace('target/', 'online/'))!;
      const v0 = t0.get(name)!;
      for (let i = 0; i < v1.length; i++) {
        const want = tau * o1[i] + (1 - tau) * v0[i];
        assert.ok(Math.abs(v1[i] - want) <= 1e-6 * (1 + Math.abs(want)), `${name}[${i}]`);
      }
    }
    agent.dispose();
  });
}

test("DDPG target: y = r + gamma (1 - terminal) Q'(x', mu'(x')) — hand-computed critic loss", () => {
  // tau = 1: after each update the targets equal the online networks, so Q'(x', mu'(x')) = valueBatch(x')
  const agent = new DdpgAgent({ ...small, gamma: 0.9, tau: 1, criticLr: 1e-2, actorLr: 1e-3, weightDecay: 0 });
  const rng = new Rng(4);
  for (let k = 0; k < 30; k++) {
    const b = randomBatch(rng, 32);
    b.r.fill(3);
    agent.update(b);
  }
  const b = randomBatch(rng, 6);
  b.terminal.set([1, 0, 0, 1, 0, 1]);
  const Vnext = agent.valueBatch(b.x2, b.B);
  const Q = agent.qValues(b.x, b.u, b.B);
  assert.ok(Math.min(...Vnext) > 1, `Q' should be well away from 0, got ${Array.from(Vnext)}`);
  const mse = (y: (i: number) => number) => Q.reduce((s, q, i) => s + (q - y(i)) ** 2, 0) / b.B;
  const expected = mse((i) => b.r[i] + 0.9 * (1 - b.terminal[i]) * Vnext[i]);
  const ignoringTerminal = mse((i) => b.r[i] + 0.9 * Vnext[i]);
  const stats = agent.update(b);
  assert.ok(Math.abs(stats.loss - expected) <= 1e-4 * expected, `loss ${stats.loss}, hand-computed ${expected}`);
  assert.ok(Math.abs(ignoringTerminal - expected) > 0.05 * expected);
  agent.dispose();
});

test('DDPG: critic weight decay pulls the weight matrices toward 0 and leaves biases alone', async () => {
  // Same batch, same init, weightDecay 0 vs 1e4 (large enough to dominate the TD gradient).
  // Adam's first step is lr * sign(g): with decay, sign(g) = sign(W) for (almost) every entry.
  const plain = new DdpgAgent({ ...small, weightDecay: 0, gradClipNorm: 0 });
  const decayed = new DdpgAgent({ ...small, weightDecay: 1e4, gradClipNorm: 0 });
  const b = randomBatch(new Rng(5), 16);
  const w0 = tensors(await decayed.getState(), 'online/Q');
  plain.update(b);
  decayed.update(b);
  const wPlain = tensors(await plain.getState(), 'online/Q');
  const wDecayed = tensors(await decayed.getState(), 'online/Q');
  for (const [name, v0] of w0) {
    const v1 = wDecayed.get(name)!;
    if (name.endsWith('/W')) {
      let shrunk = 0;
      for (let i = 0; i < v0.length; i++) if (Math.abs(v1[i]) < Math.abs(v0[i])) shrunk++;
      assert.ok(shrunk > 0.95 * v0.length, `${name}: only ${shrunk}/${v0.length} entries shrank`);
    } else {
      assert.deepEqual(v1, wPlain.get(name), `${name} was decayed`);
    }
  }
  plain.dispose();
  decayed.dispose();
});

test('DDPG learns a 1-D bandit: mu(x) -> u*(x)', () => {
  // On torques (normalizeActions: false): with the action normalised to [-1, 1] this small critic
  // fits the (then 4x steeper) curvature in a more slowly, and mu stays 0.1-0.25 off u* after
  // 1200 updates over seeds and learning rates (measured); the scaling itself is tested below.
  const agent = new DdpgAgent({ dX: 1, dU: 1, uMax: new Float64Array([2]), hidden: [32, 32], gamma: 0, actorLr: 3e-3, criticLr: 1e-2, weightDecay: 0, seed: 2, normalizeActions: false });
  trainOnBandit(agent, 600);
  const xs = new Float32Array([-0.8, 0, 0.8]);
  const mu = agent.actBatch(xs, 3);
  xs.forEach((x, i) => assert.ok(Math.abs(mu[i] - uStar(x)) < 0.1, `mu(${x}) = ${mu[i]}, optimum ${uStar(x)}`));
  agent.dispose();
});

test('action normalisation: the networks see u / uMax, the interface stays in N·m', async () => {
  // With uMax = 1 the scaling is the identity: both settings give the same numbers.
  const mk = (normalizeActions: boolean, u: number) => new DdpgAgent({ dX: 1, dU: 1, uMax: new Float64Array([u]), hidden: [16, 16], gamma: 0, seed: 2, normalizeActions });
  const [a, b] = [mk(true, 1), mk(false, 1)];
  trainOnBandit(a, 40);
  trainOnBandit(b, 40);
  const xs = new Float32Array([-0.8, 0, 0.8]);
  assert.deepEqual(a.actBatch(xs, 3), b.actBatch(xs, 3));
  // With uMax = 2: the learner's and the plain-JS actor's mu agree in N·m, inside the bound.
  const c = mk(true, 2);
  trainOnBandit(c, 40);
  const mu = c.actBatch(xs, 3);
  const actor = createActor(c.snapshot());
  xs.forEach((x, i) => assert.ok(Math.abs(actor.mu(Float64Array.of(x))[0] - mu[i]) < 1e-5 && Math.abs(mu[i]) <= 2, `mu ${mu[i]}`));
  const state = await c.getState();
  assert.equal(state.scalars.action_normalized, 1);
  await assert.rejects(mk(false, 2).setState(state), /the state's networks work on normalised actions u\/u_max, this agent on torques \(agent.normalize_actions: true loads it\)/);
  for (const g of [a, b, c]) g.dispose();
});

test('DDPG divergence guard: NaN reward skipped; absurd learning rates rolled back and decayed', async () => {
  const agent = new DdpgAgent({ ...small });
  const rng = new Rng(7);
  agent.update(randomBatch(rng, 16));
  const before = await agent.getState();
  assert.equal(agent.update({ ...randomBatch(rng, 8), r: new Float32Array(8).fill(NaN) }).skipped, true);
  assert.deepEqual((await agent.getState()).tensors, before.tensors);
  assert.equal(agent.divergences, 1);

  // lr 1e30: the critic's step is finite but poisons the weights; whether the actor's step through
  // the stepped critic already overflows in this update or only the next one depends on how the
  // backend propagates the overflow (NaN or Inf). Either way both updates end back at the initial
  // weights (a failed update with no committed predecessor is undone; one after a committed step
  // rolls back to the state before it), and each failure halves both learning rates.
  const wild = new DdpgAgent({ ...small, actorLr: 1e30, criticLr: 1e30 });
  const initial = await wild.getState();
  const results = [wild.update(randomBatch(rng, 16)), wild.update(randomBatch(rng, 16))];
  assert.equal(results[1].skipped, true);
  const failures = results.filter((r) => r.skipped).length;
  assert.equal(wild.divergences, failures);
  assert.deepEqual((await wild.getState()).tensors, initial.tensors);
  assert.deepEqual(wild.learningRates, { actor: 1e30 * 0.5 ** failures, critic: 1e30 * 0.5 ** failures });
  const snap = wild.snapshot();
  assert.ok(snap.heads.mu.every((l) => l.W.every(Number.isFinite) && l.b.every(Number.isFinite)));
  wild.dispose();
  agent.dispose();
});

test('DDPG getState/setState round trip; snapshot runs in the plain-JS actor; tensor count flat', async () => {
  const opts: DdpgOptions = { ...small, batchNorm: true, actorLr: 1e-3, criticLr: 1e-2 };
  const a = new DdpgAgent(opts);
  const rng = new Rng(9);
  for (let k = 0; k < 5; k++) a.update(randomBatch(rng, 16));
  const b = new DdpgAgent({ ...opts, seed: 42 });
  await b.setState(structuredClone(await a.getState()));
  const probe = randomBatch(rng, 8);
  assert.deepEqual(b.actBatch(probe.x, 8), a.actBatch(probe.x, 8));
  assert.deepEqual(b.valueBatch(probe.x, 8), a.valueBatch(probe.x, 8));
  const next = randomBatch(rng, 16);
  assert.deepEqual(b.update(next), a.update(next));
  assert.deepEqual(await b.getState(), await a.getState());
  await assert.rejects(b.setState({ ...(await a.getState()), kind: 'naf' }), /state is for 'naf', expected 'ddpg'/);

  const actor = createActor(structuredClone(a.snapshot()));
  assert.equal(actor.choleskyP, undefined);
  const mu = a.actBatch(probe.x, 8);
  for (let i = 0; i < 8; i++) {
    const m = actor.mu(Float64Array.from(probe.x.subarray(i * dX, (i + 1) * dX)));
    for (let j = 0; j < dU; j++) assert.ok(Math.abs(m[j] - mu[i * dU + j]) <= 1e-5 * (1 + Math.abs(m[j])));
  }

  a.update(randomBatch(rng, 16));
  const n0 = tf.memory().numTensors;
  for (let k = 0; k < 30; k++) {
    a.update(randomBatch(rng, 16));
    a.actBatch(probe.x, 8);
    a.valueBatch(probe.x, 8);
    a.snapshot();
    if (k % 10 === 0) a.update({ ...randomBatch(rng, 4), r: new Float32Array(4).fill(NaN) });
  }
  assert.equal(tf.memory().numTensors, n0);
  a.dispose();
  b.dispose();
});
