/**
 * Policy averaging (`LearnerBase.averagePolicy`): the average starts at the first episode
 * with updates, never at the random initial weights, and is the bias-corrected exponential average
 * of the online weights of the episodes since — so after the first averaged episode it equals the
 * online weights, and on any sequence it equals sum_i beta (1 - beta)^(k-i) theta_i / (1 - (1 - beta)^k).
 * Checkpoints carry the count; an average saved before it was counted continues as the plain EMA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/agent/backend.js';
import { NafAgent } from '../src/agent/naf/agent.js';
import { DdpgAgent } from '../src/agent/ddpg/agent.js';
import type { AgentState, QAgent, TransitionBatch } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';

await initBackend();

const dX = 3;
const dU = 2;
const uMax = new Float64Array([1, 0.5]);

function batch(rng: Rng, B = 16): TransitionBatch {
  const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return { x: f(B * dX), u: Float32Array.from({ length: B * dU }, () => 0.4 * (2 * rng.uniform() - 1)), r: f(B), x2: f(B * dX), terminal: new Float32Array(B), B };
}

const online = (s: AgentState) => s.tensors.filter((t) => t.name.startsWith('online/'));
const average = (s: AgentState, name: string) => s.tensors.find((t) => t.name === `average/${name}`)?.data;

const agents: [string, () => QAgent][] = [
  ['NAF', () => new NafAgent({ dX, dU, uMax, hidden: [8, 8], seed: 1 })],
  ['DDPG', () => new DdpgAgent({ dX, dU, uMax, hidden: [8, 8], seed: 1 })],
];

for (const [kind, make] of agents) {
  test(`${kind} policy averaging: nothing before the first update; after the first averaged episode the average is the online weights`, async () => {
    const agent = make();
    const init = await agent.getState();
    agent.averagePolicy(0.1); // an episode without updates (warm-up): the random weights stay out
    agent.averagePolicy(0.1);
    const s0 = await agent.getState();
    assert.equal(s0.tensors.some((t) => t.name.startsWith('average/')), false, 'no average before an update');
    assert.deepEqual(agent.greedySnapshot().heads, agent.snapshot().heads, 'greedy = online before averaging starts');
    const rng = new Rng(2);
    for (let i = 0; i < 3; i++) assert.equal(agent.update(batch(rng)).skipped, false);
    agent.averagePolicy(0.1);
    const s1 = await agent.getState();
    assert.equal(s1.scalars.average_count, 1);
    for (const t of online(s1)) {
      const name = t.name.slice('online/'.length);
      assert.deepEqual(average(s1, name), t.data, `average/${name} = online/${name} bit for bit`);
      assert.notDeepEqual(t.data, init.tensors.find((u) => u.name === t.name)!.data, 'the weights did move');
    }
    assert.deepEqual(agent.greedySnapshot().heads, agent.snapshot().heads);
    agent.dispose();
  });
}

/** Sets the online weights to `theta(name, size)` (every other part of the state kept). */
async function setOnline(agent: QAgent, theta: (name: string, size: number) => Float32Array, scalars: Record<string, number> = {}): Promise<void> {
  const s = await agent.getState();
  for (const t of online(s)) t.data = theta(t.name, t.data.length);
  Object.assign(s.scalars, scalars);
  await agent.setState(s);
}

test('policy averaging equals the bias-corrected EMA of a synthetic sequence (through checkpoint round trips)', async () => {
  const beta = 0.1;
  const K = 12;
  const agent = new NafAgent({ dX, dU, uMax, hidden: [8, 8], seed: 4 });
  const rng = new Rng(5);
  // theta_k per tensor: random, fixed per (tensor, k), far from each other so the weights matter
  const seq = new Map<string, Float32Array[]>();
  const thetaAt = (k: number) => (name: string, size: number) => {
    if (!seq.has(name)) seq.set(name, []);
    const list = seq.get(name)!;
    if (!list[k]) list[k] = Float32Array.from({ length: size }, () => 10 * k + rng.normal());
    return list[k];
  };
  for (let k = 1; k <= K; k++) {
    await setOnline(agent, thetaAt(k), { updates: k }); // as if the episode had made updates
    agent.averagePolicy(beta);
    const s = await agent.getState();
    assert.equal(s.scalars.average_count, k);
    const c = 1 - (1 - beta) ** k;
    for (const [name, list] of seq) {
      const got = average(s, name.slice('online/'.length))!;
      for (let j = 0; j < got.length; j++) {
        let want = 0;
        for (let i = 1; i <= k; i++) want += (beta * (1 - beta) ** (k - i) * list[i][j]) / c;
        assert.ok(Math.abs(got[j] - want) <= 1e-5 * (1 + Math.abs(want)), `k = ${k}, ${name}[${j}]: ${got[j]}, expected ${want}`);
      }
    }
  }
  agent.dispose();
});

test('an average from a checkpoint without average_count (written before the count was kept) continues as the plain EMA', async () => {
  const beta = 0.25;
  const agent = new NafAgent({ dX, dU, uMax, hidden: [8, 8], seed: 6 });
  await setOnline(agent, (_n, size) => new Float32Array(size).fill(2), { updates: 5 });
  agent.averagePolicy(beta);
  const s = await agent.getState();
  delete s.scalars.average_count;
  for (const t of s.tensors) if (t.name.startsWith('average/')) t.data = new Float32Array(t.data.length).fill(1);
  await agent.setState(s);
  agent.averagePolicy(beta); // theta = 2, old average 1: 1 + 0.25 (2 - 1)
  const after = await agent.getState();
  assert.equal(after.scalars.average_count, undefined, 'an uncounted average stays uncounted');
  for (const t of after.tensors) if (t.name.startsWith('average/')) for (const v of t.data) assert.equal(v, 1.25);
  agent.dispose();
});
