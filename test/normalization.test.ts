/**
 * Units: actions normalised to [-1, 1] inside the networks (the agents' interface stays
 * in N·m), and the optional running observation normalisation (`src/agent/normalizer.ts`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/agent/backend.js';
import { createActor } from '../src/agent/actor.js';
import { NafAgent } from '../src/agent/naf/agent.js';
import { normalizeRows, RunningNorm } from '../src/agent/normalizer.js';
import type { TransitionBatch } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';

await initBackend();

const dX = 5;
const dU = 3;
const uMax = new Float64Array([0.6, 0.1, 0.03]); // reacher3's bounds: 20x apart

function batch(rng: Rng, B: number): TransitionBatch {
  const f = (n: number, scale: (i: number) => number, shift = 0) => Float32Array.from({ length: n }, (_, i) => shift + scale(i) * rng.normal());
  // observations far from zero mean / unit scale, as joint velocities and distances are
  const obs = (n: number) => f(n, (i) => [0.1, 5, 0.01, 1, 20][i % dX], 3);
  return { x: obs(B * dX), u: f(B * dU, (i) => uMax[i % dU]), r: f(B, () => 0.1), x2: obs(B * dX), terminal: new Float32Array(B), B };
}

test('RunningNorm: batch updates give the mean and population variance of all rows; set restores', () => {
  const rng = new Rng(1);
  const n = new RunningNorm(2);
  const all: number[][] = [[], []];
  for (const B of [5, 1, 17]) {
    const x = Float32Array.from({ length: 2 * B }, (_, i) => (i % 2 ? 10 : 0) + (i % 2 ? 3 : 0.5) * rng.normal());
    n.update(x, B);
    for (let i = 0; i < B; i++) for (let j = 0; j < 2; j++) all[j].push(x[i * 2 + j]);
  }
  for (let j = 0; j < 2; j++) {
    const m = all[j].reduce((a, b) => a + b, 0) / all[j].length;
    const v = all[j].reduce((a, b) => a + (b - m) ** 2, 0) / all[j].length;
    assert.ok(Math.abs(n.mean[j] - m) < 1e-9 && Math.abs(n.variance()[j] - v) < 1e-9);
  }
  const back = new RunningNorm(2);
  back.set(n.count, n.mean, n.variance());
  assert.deepEqual(back.stats(), n.stats());
  const z = normalizeRows(Float32Array.of(1e6, -1e6), 1, n.stats());
  assert.deepEqual(Array.from(z), [10, -10], 'clipped to ±10');
  assert.throws(() => back.set(1, [0], [1, 1]), /expected 2 values/);
});

test('NAF with normalised actions: torques out, A = -1/2 (u - mu)^T L L^T (u - mu) in N·m, the actor agrees', () => {
  const agent = new NafAgent({ dX, dU, uMax, hidden: [24, 24], seed: 3, lr: 1e-2 });
  const rng = new Rng(2);
  for (let k = 0; k < 20; k++) assert.equal(agent.update(batch(rng, 32)).skipped, false);
  const b = batch(rng, 6);
  const mu = agent.actBatch(b.x, 6);
  const V = agent.valueBatch(b.x, 6);
  const Q = agent.qValues(b.x, b.u, 6);
  const L = agent.lowerTriangular(b.x, 6);
  const actor = createActor(agent.snapshot());
  for (let i = 0; i < 6; i++) {
    const x = Float64Array.from(b.x.subarray(i * dX, (i + 1) * dX));
    const d = Array.from({ length: dU }, (_, j) => b.u[i * dU + j] - mu[i * dU + j]);
    let A = 0;
    for (let c = 0; c < dU; c++) {
      let w = 0;
      for (let r = c; r < dU; r++) w += d[r] * L[i * dU * dU + r * dU + c];
      A -= 0.5 * w * w;
    }
    assert.ok(Math.abs(V[i] + A - Q[i]) < 1e-4 * (1 + Math.abs(Q[i])), `Q ${Q[i]} != V + A ${V[i] + A}`);
    const am = actor.mu(x);
    const aL = actor.choleskyP!(x);
    for (let j = 0; j < dU; j++) {
      assert.ok(Math.abs(am[j] - mu[i * dU + j]) < 1e-5 && Math.abs(mu[i * dU + j]) <= uMax[j], 'mu in N·m, inside the bound');
      for (let c = 0; c < dU; c++) assert.ok(Math.abs(aL[j * dU + c] - L[i * dU * dU + j * dU + c]) < 1e-4 * (1 + Math.abs(aL[j * dU + c])));
    }
  }
  agent.dispose();
});

test('NAF with observation normalisation: statistics from the minibatches, checkpointed, sent to the actor', async () => {
  const agent = new NafAgent({ dX, dU, uMax, hidden: [24, 24], seed: 3, normalizeObservations: true });
  const rng = new Rng(4);
  const seen: Float32Array[] = [];
  for (let k = 0; k < 8; k++) {
    const b = batch(rng, 16);
    seen.push(b.x);
    agent.update(b);
  }
  const state = await agent.getState();
  const mean = state.tensors.find((t) => t.name === 'obs_norm/mean')!.data;
  const all = seen.flatMap((x) => Array.from(x));
  for (let j = 0; j < dX; j++) {
    const col = all.filter((_, i) => i % dX === j);
    assert.ok(Math.abs(mean[j] - col.reduce((a, v) => a + v, 0) / col.length) < 1e-4, `mean[${j}]`);
  }
  assert.equal(state.scalars.obs_norm_count, 8 * 16);
  // The actor normalises as the learner does.
  const probe = batch(rng, 4);
  const mu = agent.actBatch(probe.x, 4);
  const actor = createActor(structuredClone(agent.snapshot()));
  for (let i = 0; i < 4; i++) {
    const m = actor.mu(Float64Array.from(probe.x.subarray(i * dX, (i + 1) * dX)));
    for (let j = 0; j < dU; j++) assert.ok(Math.abs(m[j] - mu[i * dU + j]) < 1e-5);
  }
  // Round trip: identical outputs and statistics.
  const back = new NafAgent({ dX, dU, uMax, hidden: [24, 24], seed: 9, normalizeObservations: true });
  await back.setState(structuredClone(state));
  assert.deepEqual(back.actBatch(probe.x, 4), mu);
  await assert.rejects(new NafAgent({ dX, dU, uMax, hidden: [24, 24] }).setState(state), /unexpected tensor 'obs_norm\/mean'/);
  const noStats = { ...state, tensors: state.tensors.filter((t) => !t.name.startsWith('obs_norm/')) };
  await assert.rejects(back.setState(noStats), /observation normalisation is on but the state has no obs_norm statistics/);
  for (const a of [agent, back]) a.dispose();
});
