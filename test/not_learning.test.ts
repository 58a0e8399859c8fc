/**
 * The not-learning warning fires on fixed-seed runs that diverge, and a healthy
 * run of the same length raises none. Short embedded training runs (small networks, T = 20,
 * a refit every 2 episodes), each checked in the run folder: the `warnings` field of metrics.jsonl,
 * warnings.jsonl and the "Warnings" section of summary.md.
 *
 * Measured with this code (wasm backend), seed 5:
 *  - reacher, `agent.learning_rate` 0.5 (default 0.001): TD loss 0.012 -> 4e8 at episode 2, mean Q
 *    −1.3e4 then +382: q_range from episode 3, td_loss from episode 4; the same run at the default
 *    learning rate: loss 0.012 -> 6e-4, mean Q −0.1 to −0.26, no warning;
 *  - UR5e with `safety.damping_injection: none` (urdf/ur5e.urdf has no damping, as UR publish
 *    none: how a lightly damped arm such as the published iiwa fails): model error e = 24.5, 4.9,
 *    1.0 over the mean-path predictor
 *    at refits 2-4, model_error at episode 8; with the shipped damping injection e = 0.12, 0.21,
 *    0.02, no warning (not run here: `test/learning.test.ts` checks that its longer learning runs
 *    of the reacher and the UR5e raise none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { readRecords, type EpisodeRecord } from '../src/report/run_folder.js';
import type { HealthEvent } from '../src/training/learning_health.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';

const small = {
  seed: 5,
  task: { horizon: 20 },
  agent: { hidden: [24, 24], learner_threads: 1, updates_per_step: 1, warmup_steps: 20, batch_size: 16, replay_capacity: 5000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 5, imagination_starts: 2, imagination_length: 3 },
};
const ur5e = {
  urdf_path: 'urdf/ur5e.urdf',
  joints: ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint'],
  task: { horizon: 20, tip_link: 'tool0', home_pose: [0, -1.5708, 1.5708, -1.5708, -1.5708, 0], fixed_target: [0.4, 0.3, 0.4], action_effort_fraction: 0.2 },
};

/** Trains `params` to the end in a new run folder; its records, warning events and summary. */
async function train(params: object, episodes: number) {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-health-run-')), 'run');
  const config = parseConfig({ ...params, training: { episodes, eval_every_episodes: 2, eval_episodes: 3, test_episodes: 3, checkpoint_every_episodes: 1000 } });
  const t = await Trainer.create(config, runDir, silentLogger());
  const heard: HealthEvent[] = [];
  await t.run({ onWarning: (e) => heard.push(e) });
  t.dispose();
  const metrics = readRecords<EpisodeRecord>(join(runDir, 'metrics.jsonl'));
  const file = join(runDir, 'warnings.jsonl');
  return {
    metrics, heard, summary: readFileSync(join(runDir, 'summary.md'), 'utf8'),
    events: existsSync(file) ? readRecords<HealthEvent>(file) : null,
    /** Episode at which `code` first appears in the metrics records' `warnings`. */
    firstIn: (code: string) => metrics.find((m) => m.warnings?.includes(code))?.episode,
  };
}

test('an absurd learning rate diverges and says so (td_loss, q_range); the same run at the default rate says nothing', async () => {
  const bad = await train({ ...small, agent: { ...small.agent, learning_rate: 0.5 } }, 5);
  // Measured: q_range from episode 3, td_loss from episode 4 (a little float drift may move them by one).
  assert.ok(bad.firstIn('q_range')! <= 4, `q_range by episode 4 (qMean ${bad.metrics.map((m) => m.qMean?.toPrecision(3)).join(', ')})`);
  assert.ok(bad.firstIn('td_loss')! <= 5, `td_loss by episode 5 (loss ${bad.metrics.map((m) => m.loss.toPrecision(3)).join(', ')})`);
  const starts = bad.events!.filter((e) => e.event === 'start');
  assert.ok(starts.some((e) => e.code === 'q_range') && starts.some((e) => e.code === 'td_loss'), 'in warnings.jsonl');
  assert.equal(new Set(starts.map((e) => e.code)).size, starts.length, 'no warning started twice');
  assert.deepEqual(bad.heard, bad.events, 'the onWarning hook (progress line) heard the same events');
  assert.match(bad.summary, new RegExp(`## Warnings[\\s\\S]*\\*\\*q_range\\*\\* from episode ${bad.firstIn('q_range')} \\(still active at the end\\): Q values: mean Q`));
  assert.match(bad.summary, new RegExp(`\\*\\*td_loss\\*\\* from episode ${bad.firstIn('td_loss')} .*agent\\.learning_rate`));

  const ok = await train(small, 5);
  assert.ok(ok.metrics.every((m) => Array.isArray(m.warnings) && m.warnings.length === 0), `no warning: ${ok.metrics.map((m) => m.warnings).join(' | ')}`);
  assert.equal(ok.events, null, 'no warnings.jsonl');
  assert.match(ok.summary, /## Warnings\n\nNone: the learning-health checks/);
  // The baseline the thresholds stand apart from: the healthy run's loss and Q stay in range.
  assert.ok(ok.metrics.every((m) => !(m.loss > 0.1) && !((m.qMean ?? 0) < -1)), `healthy loss ${ok.metrics.map((m) => m.loss.toPrecision(2))}, Q ${ok.metrics.map((m) => m.qMean?.toPrecision(2))}`);
});

test('an arm as published (UR5e, no damping injection) diverges and the model error says so', async () => {
  const bad = await train({ ...small, ...ur5e, safety: { gravity_compensation: 'model', damping_injection: 'none' } }, 8);
  const e = bad.metrics.filter((m, i) => m.refits !== bad.metrics[i - 1]?.refits).map((m) => m.modelMse / m.modelMseMeanPath!);
  // Measured: from episode 8, the first refit at which three ratios exist (refits 2, 3, 4).
  assert.equal(bad.firstIn('model_error'), 8, `model_error at episode 8 (e per refit ${e.map((v) => v.toPrecision(3)).join(', ')})`);
  const w = bad.events!.find((x) => x.code === 'model_error')!;
  assert.match(w.message, /dynamics model: one-step error .*× that of the previous batch's mean trajectory.*safety\.damping_injection/);
  assert.match(bad.summary, /\*\*model_error\*\* from episode 8/);
});
