/**
 * The learner's real-time figures: the session counts the steps and updates it sheds when it is
 * behind real time, its lag and the checkpoint write time; the node reports them per 1 s window on
 * /diagnostics (status `naf_trainer: learner`) and writes the same figures to the run folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { LearnerSession } from '../src/training/learner_session.js';
import type { LearnerStats } from '../src/training/learner_types.js';
import { FakeLearner } from './ros_fakes.js';
import { diagValue, trainerHarness } from './ros_trainer_harness.js';

test('a learner behind real time sheds the updates of late steps and counts them, its lag and checkpoint time', async () => {
  const config = parseConfig({
    task: { horizon: 5 },
    agent: { hidden: [8, 8], updates_per_step: 2, warmup_steps: 4, batch_size: 4, replay_capacity: 1000 },
    model_based: { enabled: false },
    ros: { max_learner_lag_ms: 50 },
  });
  const session = await LearnerSession.create(config, mkdtempSync(join(tmpdir(), 'naf-shed-')));
  const stats: LearnerStats[] = [];
  session.emit = (m) => { if (m.type === 'stats') stats.push(m.stats); };
  const x = new Float64Array(11);
  const tr = (t: number) => ({ x, u: new Float64Array(3), r: -1, x2: x, terminal: false, t });
  for (let t = 0; t < 5; t++) session.observe(tr(t), Date.now()); // on time: warm-up, then 2 updates per step
  const before = session.parts.agent.updates;
  assert.equal(before, 4, 'steps 4 and 5 trained (R holds 4 after the 4th step)');
  for (let t = 0; t < 3; t++) session.observe(tr(t), Date.now() - 1000); // 1 s late: stored, not trained
  assert.equal(session.parts.agent.updates, before, 'no update from a late step');
  session.endEpisode({ controller: 'naf', return: -5, aborted: false });
  const s = stats.at(-1)!;
  assert.equal(s.steps, 8);
  assert.equal(s.skippedSteps, 3);
  assert.equal(s.shedUpdates, 6, '2 updates per shed step');
  assert.ok(s.lagMaxMs >= 1000 && s.lagMaxMs < 2000, `lag max ${s.lagMaxMs} ms`);
  assert.ok(s.lagSamples >= 3);
  assert.ok(Number.isNaN(s.checkpointMs) && s.checkpoints === 0);
  await session.save();
  const c = stats.at(-1)!;
  assert.equal(c.checkpoints, 1);
  assert.ok(c.checkpointMs > 0, `checkpoint write ${c.checkpointMs} ms`);
  session.dispose();
});

test('/diagnostics and the run folder: updates, shed updates and fraction, lag, checkpoint time per window', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'naf-diag-')), 'diagnostics.jsonl');
  const learner = new FakeLearner();
  const s = trainerHarness({ learner, deps: { diagnosticsFile: file } });
  learner.publishStats({ steps: 50, updates: 100, lagMeanMs: 5, lagMaxMs: 9 });
  s.bus.advance(1.0);
  learner.publishStats({ steps: 100, updates: 130, skippedSteps: 20, shedUpdates: 220, lagMeanMs: 120, lagMaxMs: 300, checkpoints: 1, checkpointMs: 412.5 });
  s.bus.advance(1.0);
  const L = 'naf_trainer: learner';
  const [w1, w2] = s.diags;
  assert.equal(diagValue(w1, L, 'window.updates'), '100');
  assert.equal(diagValue(w1, L, 'window.shed_fraction'), '0.0000');
  assert.equal(w1.status.find((x) => x.name === L)!.level, 0);
  assert.equal(diagValue(w2, L, 'window.updates'), '30');
  assert.equal(diagValue(w2, L, 'window.shed_steps'), '20');
  assert.equal(diagValue(w2, L, 'window.shed_updates'), '220');
  assert.equal(diagValue(w2, L, 'window.shed_fraction'), '0.8800');
  assert.equal(diagValue(w2, L, 'lag_max_ms'), '300.000');
  assert.equal(diagValue(w2, L, 'checkpoint_write_ms'), '412.5');
  const st = w2.status.find((x) => x.name === L)!;
  assert.equal(st.level, 1, 'more than half the updates shed: WARN');
  assert.match(st.message, /^learner behind real time: 30 updates, 220 shed \(88%\), lag mean 120\.0 ms, max 300\.0 ms$/);
  s.trainer.shutdown();
  for (let i = 0; i < 100 && !(existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 2); i++) await new Promise((r) => setTimeout(r, 10));
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[1].t, 2);
  assert.equal(lines[1]['learner.window.shed_updates'], '220');
  assert.equal(lines[1]['learner.window.shed_fraction'], '0.8800');
  assert.equal(lines[1]['learner.checkpoint_write_ms'], '412.5');
  assert.equal(lines[1]['learner.level'], 1);
  assert.ok('control_loop.jitter_p99_ms' in lines[1] && 'safety.joint_states_publishers' in lines[1]);
});
