import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from '../src/agent/actor.js';
import { initBackend } from '../src/agent/backend.js';
import { NafAgent, type NafOptions } from '../src/agent/naf/agent.js';
import type { PolicySnapshot, TransitionBatch } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';

await initBackend();

const dX = 14;
const dU = 3;
const uMax = new Float64Array([2, 1.5, 0.8]);

function randomBatch(rng: Rng, B: number): TransitionBatch {
  const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return { x: f(B * dX), u: f(B * dU), r: f(B), x2: f(B * dX), terminal: new Float32Array(B), B };
}

/** |a - b| <= tol * (1 + |b|) elementwise. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

for (const [architecture, batchNorm] of [['separate', false], ['shared', false], ['separate', true], ['shared', true]] as const) {
  test(`actor (${architecture}${batchNorm ? ', batch norm' : ''}): plain-JS mu and L equal the tfjs NAF outputs, after structuredClone`, () => {
    const opts: NafOptions = { dX, dU, uMax, hidden: [64, 48], architecture, batchNorm, lr: 1e-2, seed: 4 };
    const agent = new NafAgent(opts);
    const rng = new Rng(1);
    for (let k = 0; k < 20; k++) agent.update(randomBatch(rng, 32)); // non-trivial weights and running stats
    const snap = agent.snapshot();
    const cloned = structuredClone(snap);
    assert.deepEqual(cloned, snap);
    const actor = createActor(cloned);
    assert.equal(actor.snapshot.version, 20);
    const N = 10;
    const xs = randomBatch(rng, N).x;
    const mu = agent.actBatch(xs, N);
    const L = agent.lowerTriangular(xs, N);
    for (let i = 0; i < N; i++) {
      const x = Float64Array.from(xs.subarray(i * dX, (i + 1) * dX));
      close(actor.mu(x), mu.subarray(i * dU, (i + 1) * dU), 1e-5, 'mu');
      close(actor.choleskyP!(x), L.subarray(i * dU * dU, (i + 1) * dU * dU), 1e-5, 'L');
    }
    agent.dispose();
  });
}

test('actor: the L diagonal is exp(clamp(l, meta.lDiag)), the clamp of the learner', () => {
  const agent = new NafAgent({ dX, dU, uMax, hidden: [16], lDiagMaxExp: [-1, 0.5] });
  const snap = agent.snapshot();
  // push the L head's diagonal outputs far beyond the clamp through its bias
  const last = snap.heads.L[snap.heads.L.length - 1];
  last.b[0] = 40; // (0, 0)
  last.b[2] = -40; // (1, 1)
  const actor = createActor(snap);
  const Lx = actor.choleskyP!(new Float64Array(dX));
  // In torque units: the network's L (actions u / uMax) with its rows divided by uMax.
  assert.ok(Math.abs(Lx[0] - Math.exp(0.5) / uMax[0]) < 1e-6);
  assert.ok(Math.abs(Lx[4] - Math.exp(-1) / uMax[1]) < 1e-6);
  agent.dispose();
});

test('actor: inconsistent snapshots are rejected with the reason', () => {
  const agent = new NafAgent({ dX, dU, uMax, hidden: [8, 8], batchNorm: true });
  const good = agent.snapshot();
  const bad = (edit: (s: PolicySnapshot) => void): PolicySnapshot => {
    const s = structuredClone(good);
    edit(s);
    return s;
  };
  assert.throws(() => createActor(bad((s) => delete s.heads.L)), /no 'L' head/);
  assert.throws(() => createActor(bad((s) => (s.heads.mu[1].inSize = 7))), /mu layer 1 takes 7 inputs, previous gives 8/);
  assert.throws(() => createActor(bad((s) => (s.heads.mu[0].b = new Float32Array(3)))), /mu layer 0 needs W of 112 and b of 8/);
  assert.throws(() => createActor(bad((s) => (s.dU = 2))), /uMax must be a Float64Array of dU=2/);
  assert.throws(() => createActor(bad((s) => ((s.meta.bn as Record<string, unknown[]>).mu[0] = null))), /mu layer 0 lacks batch-norm statistics/);
  assert.throws(() => createActor(bad((s) => ((s as { kind: string }).kind = 'sac'))), /kind must be 'naf' or 'ddpg'/);
  const actor = createActor(good);
  assert.throws(() => actor.mu(new Float64Array(3)), /x must have dX=14 values/);
  agent.dispose();
});
