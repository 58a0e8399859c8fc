/**
 * Resuming a node run (`ros.resume`, launch argument `resume:=`): the learner's checkpoint
 * carries the node's episode counts, the resumed node logs the checkpoint it loaded, continues
 * the episode count and stops at the run's total budget, saying how to extend it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { FakeLearner } from './ros_fakes.js';
import { diagValue, trainerHarness } from './ros_trainer_harness.js';

const tiny = {
  task: { horizon: 5 },
  agent: { hidden: [8, 8], updates_per_step: 1, warmup_steps: 5, batch_size: 4, replay_capacity: 1000 },
  model_based: { refit_every_episodes: 2, imagination_length: 2, imagination_every_steps: 5, imagination_starts: 2 },
};

test('a checkpoint carries the node episode counts; a learner created with ros.resume reports them and the checkpoint', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-node-run-'));
  const first = await InThreadLearnerClient.create(parseConfig(tiny), runDir);
  assert.equal(first.resumed, null);
  const x = new Float64Array(11);
  for (const aborted of [false, true, false]) {
    for (let t = 0; t < (aborted ? 2 : 5); t++) first.observe({ x, u: new Float64Array(3), r: -1, x2: x, terminal: false, t });
    first.endEpisode({ controller: 'naf', return: -5, aborted });
  }
  const path = await first.save();
  await first.close();
  const again = await InThreadLearnerClient.create(parseConfig({ ...tiny, ros: { resume: runDir } }), runDir);
  assert.deepEqual(again.resumed, { checkpoint: path, completed: 2, aborted: 1 });
  await again.close();
});

test('a resumed node logs the checkpoint, continues the episode count and honours the total budget', () => {
  const learner = new FakeLearner({ checkpoint: '/runs/r1/checkpoints/ckpt-0000004', completed: 3, aborted: 1 });
  const s = trainerHarness({ learner, config: { training: { episodes: 4 } }, q: [0, 0.54, 0.5], deps: { runDir: '/runs/r1' } });
  assert.equal(s.cap.count('info', /^resumed from checkpoint \/runs\/r1\/checkpoints\/ckpt-0000004: 3 episodes completed and 1 aborted before it; episodes continue from 5, budget training\.episodes = 4$/), 1);
  s.bus.advance(0.05);
  assert.equal(s.cap.count('debug', /^episode 5 starts/), 1, 'numbering continues');
  s.bus.advance(1.0);
  assert.equal(s.trainer.state, 'DONE');
  assert.equal(learner.episodes.length, 1, 'one more episode: 4 completed in total');
  assert.equal(s.cap.count('info', /^episode 4 \(naf\) return/), 1);
  assert.equal(s.cap.count('info', /training budget of 4 episodes \(training\.episodes\) done; holding zero torque\. To train further, resume this run with a larger budget: ros2 launch naf_ros <launch file> resume:=\/runs\/r1 episodes:=<total>/), 1);
  assert.equal(diagValue(s.diags.at(-1)!, 'naf_trainer: control loop', 'episode'), '5');
  s.trainer.shutdown();
  assert.equal(s.cap.count('info', /^naf_trainer stopped: 4 episodes completed, 1 aborted in the run \(this session: 1 completed, 0 aborted\)/), 1);
});

test('resuming a finished run: zero torque at once, nothing trained, the extension named', () => {
  const learner = new FakeLearner({ checkpoint: '/runs/r2/checkpoints/ckpt-0000120', completed: 120, aborted: 0 });
  const s = trainerHarness({ learner, config: { training: { episodes: 120 } }, deps: { runDir: '/runs/r2' } });
  assert.equal(s.trainer.state, 'DONE');
  s.bus.advance(0.5);
  assert.equal(s.actor.begun, 0);
  assert.equal(learner.observed.length, 0);
  assert.ok(s.cmds.length > 10 && s.cmds.every((c) => c.u.every((v) => v === 0)));
  assert.equal(s.cap.count('warn', /training budget of 120 episodes .* resume:=\/runs\/r2 episodes:=<total> .*\(nothing to train\)/), 1);
});
