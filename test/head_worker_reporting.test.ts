/**
 * A head-worker failure as the learner's owners see it: the fleet learner keeps learning
 * after its NAF head worker dies, says so once in its log (not per episode or update), and reports
 * the threads in its stats; the trainer node's and the learner node's /diagnostics turn WARN when
 * the update has fallen back to one thread for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import type { NafAgent } from '../src/agent/naf/agent.js';
import type { HeadWorker } from '../src/agent/naf/parallel.js';
import { FleetLearner, type FleetEpisode, type FleetMessage } from '../src/training/fleet_learner.js';
import type { LearnerStats } from '../src/training/learner_types.js';
import { DIAG_OK, DIAG_WARN, learnerStatus, LearnerWindow } from '../src/ros/trainer/diagnostics.js';
import { Rng } from '../src/util/rng.js';

const T = 6;
const rng = new Rng(21);
function ep(episode: number): FleetEpisode {
  const v = (n: number, s = 0.1) => Float64Array.from({ length: n }, () => s * rng.normal());
  return {
    arm: '/arm1', session: 1, episode, controller: 'naf', aborted: false, return: -1, policyVersion: -1,
    x: Array.from({ length: T + 1 }, () => v(11)), u: Array.from({ length: T }, () => v(3, 0.01)), r: v(T), terminal: new Array(T).fill(false),
  };
}

test('the fleet learner keeps learning after its head worker dies, logs it once, and reports the threads in its stats', async () => {
  const config = parseConfig({
    seed: 3,
    task: { horizon: T },
    agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 8, batch_size: 8, replay_capacity: 2000, learner_threads: 2 },
    model_based: { enabled: false },
    training: { episodes: 100, checkpoint_every_episodes: 1000 },
    ros: { max_learner_lag_ms: 1e9 },
  });
  const l = await FleetLearner.create(config, mkdtempSync(join(tmpdir(), 'naf-fleet-worker-')));
  const msgs: FleetMessage[] = [];
  l.emit = (m) => msgs.push(m);
  const agent = l.session.parts.agent as NafAgent;
  assert.equal(agent.threadsInUse, 2);
  for (let e = 1; e <= 3; e++) assert.equal(await l.ingest(ep(e)), 'accepted');
  const before = agent.updates;
  assert.ok(before > 0);
  // The worker thread dies between episodes (as a crash of that thread would).
  const worker = (agent as unknown as { keeper: { live: HeadWorker } }).keeper.live;
  await worker.kill();
  for (let e = 4; e <= 8; e++) {
    assert.equal(await l.ingest(ep(e)), 'accepted');
    await agent.whenWorkerSettled();
  }
  assert.equal(agent.updates, before + 5 * T, 'every step of every later episode trained');
  const logs = msgs.filter((m) => m.type === 'log' && /head worker/.test(m.text));
  assert.deepEqual(logs.map((m) => m.type === 'log' && m.level), ['warn', 'info'], 'told once that it failed, once that it is back');
  assert.match(logs[0].type === 'log' ? logs[0].text : '', /failed at update \d+ \(exit\).*restarting the worker/);
  const stats = msgs.filter((m): m is Extract<FleetMessage, { type: 'stats' }> => m.type === 'stats').at(-1)!.stats;
  assert.deepEqual(stats.threads, { configured: 2, inUse: 2, workerFailures: 1, oneThreadForGood: false });
  assert.equal(agent.divergences, 0, 'a worker failure is not a divergence');
  l.dispose();
});

test('/diagnostics: WARN with the thread values once the NAF update has fallen back to one thread for good', () => {
  const stats = (threads: LearnerStats['threads']): LearnerStats => ({
    at: Date.now(), episodes: 3, steps: 30, updates: 20, imaginedTotal: 0, lastReturn: -1, divergences: 0, skippedSteps: 0, shedUpdates: 0,
    lagMeanMs: 1, lagMaxMs: 2, lagSamples: 3, checkpoints: 0, checkpointMs: NaN, refits: 0, ilqgRejected: 0, refit: null, threads,
  });
  const status = (threads: LearnerStats['threads']) => {
    const w = new LearnerWindow();
    w.update(stats(threads));
    w.close(Date.now());
    return learnerStatus(w.last, true, 'hw');
  };
  const restarted = status({ configured: 2, inUse: 2, workerFailures: 1, oneThreadForGood: false });
  assert.equal(restarted.level, DIAG_OK);
  assert.equal(restarted.values.find((v) => v.key === 'threads.worker_failures')?.value, '1');
  const fallen = status({ configured: 2, inUse: 1, workerFailures: 3, oneThreadForGood: true });
  assert.equal(fallen.level, DIAG_WARN);
  assert.match(fallen.message, /NAF head worker failed 3 times: the update runs on 1 of 2 threads for the rest of the run/);
  assert.equal(fallen.values.find((v) => v.key === 'threads.in_use')?.value, '1');
  assert.equal(status(undefined).values.some((v) => v.key.startsWith('threads.')), false, 'older learners: no thread values');
});
