/**
 * The actor/learner split: the same learner behind the in-thread client and the worker_threads
 * client; transitions in, policy snapshots and controllers out, checkpoints on request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { readCheckpoint } from '../src/training/checkpoint.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { InThreadLearnerClient, WorkerLearnerClient, type LearnerClient } from '../src/training/learner_client.js';
import type { PolicySnapshot } from '../src/agent/types.js';
import { createActor } from '../src/agent/actor.js';
import { Rng } from '../src/util/rng.js';

const config = parseConfig({
  task: { horizon: 10 },
  agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 10, batch_size: 8, replay_capacity: 1000 },
  model_based: { refit_every_episodes: 2, imagination_length: 2, imagination_every_steps: 5, imagination_starts: 2 },
  training: { publish_policy_every_updates: 5 },
  ros: { max_learner_lag_ms: 1e9 }, // this test pumps transitions faster than real time
});

async function exercise(client: LearnerClient): Promise<{ versions: number[]; controllers: number; saved: string }> {
  const versions: number[] = [];
  let controllers = 0;
  client.onPolicy((s: PolicySnapshot) => versions.push(s.version));
  client.onController(() => controllers++);
  const rng = new Rng(1);
  const x = () => Float64Array.from({ length: 11 }, () => rng.normal() * 0.1);
  for (let e = 0; e < 4; e++) {
    let xt = x();
    for (let t = 0; t < 10; t++) {
      const x2 = x();
      client.observe({ x: xt, u: Float64Array.from([0.01, -0.01, 0]), r: -0.1, x2, terminal: false, t });
      xt = x2;
    }
    client.endEpisode({ controller: 'naf', return: -1, aborted: false });
  }
  const [saved, greedy] = await Promise.all([client.save(), client.greedyPolicy!()]);
  assert.equal(greedy.kind, 'naf', 'the greedy policy arrives beside a save in flight (each reply to its own request)');
  await new Promise((r) => setTimeout(r, 50));
  await client.close();
  return { versions, controllers, saved };
}

for (const [name, make] of [['in-thread', InThreadLearnerClient.create], ['worker_threads', WorkerLearnerClient.create]] as const) {
  test(`${name} learner client: trains, publishes fresh policies and refitted controllers, checkpoints`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naf-client-'));
    const r = await exercise(await make(config, dir));
    assert.ok(r.versions.length >= 3, `policy snapshots received: ${r.versions}`);
    assert.ok(r.versions[r.versions.length - 1] > 0, 'later snapshots carry the updates');
    assert.ok(r.controllers >= 2, 'initial controller + one after the refit');
    assert.ok(existsSync(r.saved) && r.saved.endsWith('.safetensors'), r.saved);
    const back = readCheckpoint(r.saved).state as { config: unknown; learner: unknown };
    assert.deepEqual(back.config, config, 'the config travels with the checkpoint (eval and deploy need it)');
  });
}

test('snapshots from the worker run in the plain-JS actor', async () => {
  const client = await WorkerLearnerClient.create(config, mkdtempSync(join(tmpdir(), 'naf-client-')));
  const snap = await new Promise<PolicySnapshot>((resolve) => client.onPolicy(resolve));
  const u = createActor(snap).mu(new Float64Array(11));
  assert.equal(u.length, 3);
  assert.ok(u.every(Number.isFinite));
  await client.close();
});

test('a learner behind real time stores late transitions but sheds their updates (counted)', async () => {
  const { LearnerSession } = await import('../src/training/learner_session.js');
  const s = await LearnerSession.create({ ...config, ros: { ...config.ros, max_learner_lag_ms: 100 } }, mkdtempSync(join(tmpdir(), 'naf-lag-')));
  const tr = (t: number) => ({ x: new Float64Array(11), u: new Float64Array(3), r: -0.1, x2: new Float64Array(11), terminal: false, t });
  for (let t = 0; t < 10; t++) s.observe(tr(t), Date.now());
  const trained = s.stats().updates;
  assert.ok(trained > 0);
  for (let t = 0; t < 10; t++) s.observe(tr(t), Date.now() - 10_000);
  assert.equal(s.stats().updates, trained, 'late transitions train nothing');
  assert.equal(s.stats().skippedSteps, 10);
  assert.equal(s.parts.learner.R.size, 20, 'but every transition is stored');
  s.dispose();
});

test('a node learner resumes from the newest checkpoint of ros.resume', async () => {
  const { LearnerSession } = await import('../src/training/learner_session.js');
  const dir = mkdtempSync(join(tmpdir(), 'naf-node-resume-'));
  const a = await LearnerSession.create(config, dir);
  const tr = (t: number) => ({ x: Float64Array.from({ length: 11 }, (_, i) => i * 0.01 + t), u: new Float64Array(3), r: -0.1, x2: new Float64Array(11), terminal: false, t });
  for (let t = 0; t < 10; t++) a.observe(tr(t));
  a.endEpisode({ controller: 'naf', return: -1, aborted: false });
  await a.save();
  const b = await LearnerSession.create({ ...config, ros: { ...config.ros, resume: dir } }, dir);
  assert.equal(b.parts.learner.R.size, 10);
  assert.equal(b.parts.learner.episodes, 1);
  assert.equal(b.parts.agent.updates, a.parts.agent.updates);
  a.dispose();
  b.dispose();
});

test('worker client with the two-thread NAF update: the learner and its head worker report their thread ids (the node keeps both off SCHED_FIFO)', { skip: process.platform !== 'linux' && 'Linux thread ids only' }, async () => {
  const client = await WorkerLearnerClient.create(parseConfig({ ...config, agent: { ...config.agent, learner_threads: 2 } }), mkdtempSync(join(tmpdir(), 'naf-client-')));
  try {
    assert.equal(client.tids.length, 2, `tids ${client.tids}`);
    assert.equal(client.tids[0], client.tid);
    assert.notEqual(client.tids[1], client.tids[0]);
    assert.ok(existsSync(`/proc/${process.pid}/task/${client.tids[1]}`), 'the head worker is a thread of this process');
  } finally {
    await client.close();
  }
});
