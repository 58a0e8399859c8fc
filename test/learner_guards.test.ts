/**
 * The learner's two guards (`src/training/learner.ts`), on the real task and arm:
 *  - an iLQG step whose controller breaks the KL trust region is not installed: the previous
 *    controller stays, the rejection is counted and reported, and checkpointed;
 *  - R_f holds only the rollouts of the last k refits' models (`fictional_max_age_refits`), and
 *    that survives a checkpoint (also one written before the bound existed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { buildTraining, type TrainingParts } from '../src/training/factory.js';
import { runEpisode } from '../src/training/episode.js';
import { Learner, learnerState, restoreLearner, type RefitReport } from '../src/training/learner.js';
import { readCheckpoint, writeCheckpoint } from '../src/training/checkpoint.js';

const small = (mb: Record<string, unknown> = {}) => parseConfig({
  seed: 4,
  task: { horizon: 12 },
  agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 16, batch_size: 16, replay_capacity: 5000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 4, imagination_starts: 3, imagination_length: 5, fictional_capacity: 5000, on_policy_fraction: 0.5, ...mb },
});

/** n episodes as the trainer runs them; returns the refit reports. */
function episodes(parts: TrainingParts, learner: Learner, n: number, after?: (r: RefitReport) => void): RefitReport[] {
  const out: RefitReport[] = [];
  for (let i = 0; i < n; i++) {
    parts.actor.setController(learner.controller);
    runEpisode({ arm: parts.arm, task: parts.task, actor: parts.actor, learner, start: parts.task.sampleEpisodeStart(parts.rng) });
    const r = learner.endEpisode();
    if (r) {
      out.push(r);
      after?.(r);
    }
  }
  return out;
}

test('an iLQG step outside the KL bound is not installed: previous controller kept, counted, reported', async () => {
  const parts = await buildTraining(small());
  // One dual-search iteration from eta at its floor (the unconstrained LQR step): the search ends
  // outside the trust region, as a search that runs out of iterations does.
  const learner = new Learner({ ...parts.learner.parts, ilqgSearch: { maxIterations: 1 } });
  learner.ilqg.eta = 1e-8;
  const before = learner.controller;
  const [r] = episodes(parts, learner, 2);
  assert.equal(r.converged, false);
  assert.ok(r.kl > r.klBound, `KL ${r.kl} vs bound ${r.klBound}`);
  assert.equal(r.accepted, false);
  assert.equal(learner.controller, before, 'the previous controller is still the one acting');
  assert.equal(learner.ilqgRejected, 1);
  assert.equal(learner.refits, 1);
  assert.ok(Number.isNaN(learner.ilqg.predictedReturn), 'no step adjustment against a step that was not taken');
  // With the full search (GPS's 50 iterations) the next step converges and is installed.
  const full = new Learner({ ...learner.parts, ilqgSearch: undefined });
  const restored = await restoreLearner(full, await learnerState(learner));
  assert.equal(restored.ilqgRejected, 1, 'the count is checkpointed');
  const [r2] = episodes(parts, restored, 2);
  assert.ok(r2.accepted && r2.converged && r2.kl <= r2.klBound, JSON.stringify(r2));
  assert.notEqual(restored.controller, before);
  parts.agent.dispose();
});

test('R_f keeps the rollouts of the last k refits only (k = 2), and imagination keeps training Q', async () => {
  const parts = await buildTraining(small({ fictional_max_age_refits: 2 }));
  const { learner, agent } = parts;
  const seen: number[][] = [];
  const reports = episodes(parts, learner, 10, () => seen.push(learner.Rf.generations.map((b) => b.generation)));
  assert.equal(reports.length, 5);
  // after refit G the buffer holds generation G-1 only (generation G is imagined from now on)
  assert.deepEqual(seen, [[], [1], [2], [3], [4]]);
  assert.deepEqual(reports.map((r) => r.fictionalDropped > 0), [false, false, true, true, true]);
  assert.ok(learner.imaginedTotal > learner.Rf.size, 'older rollouts were dropped');
  // R and R_f updates: more updates than real steps after warm-up
  assert.ok(agent.updates > learner.steps, `${agent.updates} updates for ${learner.steps} steps`);
  parts.agent.dispose();
});

test('k = 0 is Algorithm 2 as written: nothing is dropped', async () => {
  const parts = await buildTraining(small({ fictional_max_age_refits: 0 }));
  const reports = episodes(parts, parts.learner, 8);
  assert.ok(reports.every((r) => r.fictionalDropped === 0));
  assert.equal(parts.learner.Rf.size, parts.learner.imaginedTotal);
  parts.agent.dispose();
});

test('the generations of R_f, the refit and rejection counts survive a checkpoint file; an older checkpoint still loads', async () => {
  const parts = await buildTraining(small({ fictional_max_age_refits: 2 }));
  episodes(parts, parts.learner, 7);
  const file = writeCheckpoint(mkdtempSync(join(tmpdir(), 'naf-guards-')), '7', { learner: await learnerState(parts.learner) });
  const saved = (readCheckpoint(file).state as { learner: Awaited<ReturnType<typeof learnerState>> }).learner;
  const back = await restoreLearner(parts.learner, saved);
  assert.deepEqual(back.Rf.generations, parts.learner.Rf.generations);
  assert.ok(back.Rf.generations.length > 0);
  assert.equal(back.refits, 3);
  assert.equal(back.ilqgRejected, 0);
  // Written before the bound: R_f a plain ring state, no refit count (3 refits of n = 2 in 7 episodes).
  const old = structuredClone(saved) as unknown as { Rf: { ring: unknown }; counters: Record<string, unknown> };
  old.Rf = old.Rf.ring as never;
  delete old.counters.refits;
  delete old.counters.ilqgRejected;
  const fromOld = await restoreLearner(parts.learner, old as never);
  assert.equal(fromOld.refits, 3);
  assert.deepEqual(fromOld.Rf.generations, [{ generation: 3, count: back.Rf.size }]);
  parts.agent.dispose();
});
