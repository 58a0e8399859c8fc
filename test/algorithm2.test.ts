/**
 * Algorithm 2 behaviour on the real task and arm: the p-mixing of controllers, imagination
 * rollouts (known reward, horizon), the batch rotation with refit, and the switch-off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../src/config/load.js';
import { buildTraining, type TrainingParts } from '../src/training/factory.js';
import { runEpisode } from '../src/training/episode.js';
import { imagine } from '../src/training/imagination.js';
import { ReplayBuffer } from '../src/agent/replay.js';
import { Rng } from '../src/util/rng.js';
import type { Arm } from '../src/env/types.js';
import type { DynamicsModel } from '../src/model/types.js';

const small = (over: Record<string, unknown> = {}) => parseConfig({
  seed: 3,
  exploration: { ilqg_noise: false },
  task: { horizon: 12 },
  agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 16, batch_size: 16, replay_capacity: 5000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 4, imagination_starts: 3, imagination_length: 5, fictional_capacity: 5000, ...over },
  training: { publish_policy_every_updates: 1 },
});

/** Wraps an arm and records which torques were sent to it. */
function recording(arm: Arm): { arm: Arm; sent: Float64Array[] } {
  const sent: Float64Array[] = [];
  return { sent, arm: { spec: arm.spec, dt: arm.dt, reset: (q, qd) => arm.reset(q, qd), step: (u) => { sent.push(Float64Array.from(u)); return arm.step(u); }, dispose: () => arm.dispose() } };
}

async function episodes(parts: TrainingParts, n: number) {
  const kinds: string[] = [];
  // (the controller is refreshed from the learner after each episode, as the trainer does)
  for (let i = 0; i < n; i++) {
    const r = runEpisode({ arm: parts.arm, task: parts.task, actor: parts.actor, learner: parts.learner, start: parts.task.sampleEpisodeStart(parts.rng) });
    kinds.push(r.controller);
    parts.learner.endEpisode();
    parts.actor.setController(parts.learner.controller);
  }
  return kinds;
}

test('p = 0: no NAF action ever reaches the arm; p = 1: no iLQG action does', async () => {
  for (const p of [0, 1]) {
    const parts = await buildTraining(small({ on_policy_fraction: p, enabled: false }));
    const rec = recording(parts.arm);
    parts.arm = rec.arm;
    // A recognisable iLQG controller: constant torque c, no feedback, no sampling noise.
    const c = Array.from(parts.task.uMax, (m) => 0.123 * m);
    const ctrl = structuredClone(parts.learner.controller);
    ctrl.uHat.forEach((u) => u.set(c));
    ctrl.k.forEach((k) => k.fill(0));
    ctrl.K.forEach((K) => K.fill(0));
    ctrl.chol.forEach((L) => L.fill(0));
    for (let i = 0; i < 6; i++) {
      parts.actor.setController(ctrl);
      runEpisode({ arm: parts.arm, task: parts.task, actor: parts.actor, learner: parts.learner, start: parts.task.sampleEpisodeStart(parts.rng) });
      parts.learner.endEpisode();
    }
    assert.equal(rec.sent.length, 6 * 12);
    const isIlqg = (u: Float64Array) => u.every((v, j) => Math.abs(v - c[j]) < 1e-12);
    if (p === 0) assert.ok(rec.sent.every(isIlqg), 'p = 0: every torque came from the iLQG controller');
    else assert.ok(!rec.sent.some(isIlqg), 'p = 1: no torque came from the iLQG controller');
    parts.agent.dispose();
  }
});

test('p = 0.5 mixes both controllers, drawn per episode', async () => {
  const parts = await buildTraining(small({ on_policy_fraction: 0.5, enabled: false }));
  const kinds = await episodes(parts, 16);
  assert.ok(kinds.includes('naf') && kinds.includes('ilqg'), kinds.join(','));
  parts.agent.dispose();
});

test('imagined transitions carry the known reward and stop at the horizon', async () => {
  const parts = await buildTraining(small());
  const { task, agent } = parts;
  const seen: number[] = [];
  const model: DynamicsModel = {
    kind: 'tvlg', ready: true, fit: () => ({ oneStepMse: 0, ms: 0 }), oneStepMse: () => 0, getState: () => null, setState: () => {},
    step: (x, _u, t) => { seen.push(t); const y = Float64Array.from(x); y[y.length - 1] += 0.01; return y; },
  };
  const Rf = new ReplayBuffer(1000, task.dX, task.dU);
  const x0 = task.observe(parts.arm.reset(Float64Array.from([0, 0.6, 0.6]), new Float64Array(3)));
  const n = imagine({ model, agent, task, l: 5, noiseSigma: 0.1, rng: new Rng(1), Rf, starts: [{ x: x0, t: 2 }, { x: x0, t: task.T - 2 }] });
  assert.equal(n, 5 + 2, 'the late start is cut at the horizon T');
  assert.ok(Math.max(...seen) <= task.T - 1);
  for (let i = 0; i < Rf.size; i++) {
    const tr = Rf.get(i);
    assert.ok(Math.abs(tr.r - task.reward(Float64Array.from(tr.x), Float64Array.from(tr.u))) < 1e-5);
    assert.equal(tr.terminal, false);
  }
  parts.agent.dispose();
});

test('B_f fills with n episodes, then refit + iLQG step, B_old <- B_f; imagination switches off', async () => {
  const parts = await buildTraining(small({ on_policy_fraction: 1, imagination_off_after_episodes: 4 }));
  const { learner } = parts;
  await episodes(parts, 1);
  assert.equal(learner.Bf.length, 1);
  assert.equal(learner.lastRefit, null);
  await episodes(parts, 1);
  assert.equal(learner.Bf.length, 0);
  assert.equal(learner.Bold.length, 2);
  const refit = learner.lastRefit as { kl: number } | null;
  assert.ok(refit && Number.isFinite(refit.kl));
  await episodes(parts, 2);
  const imaginedAt4 = learner.imaginedTotal;
  assert.ok(imaginedAt4 > 0, 'imagination ran while active');
  assert.equal(learner.imaginationActive, false);
  await episodes(parts, 2);
  assert.equal(learner.imaginedTotal, imaginedAt4, 'no new imagined transitions after the switch-off');
  parts.agent.dispose();
});
