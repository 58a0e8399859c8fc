/**
 * Training under the rules of deployment: the embedded arm trains, evaluates
 * and tests behind the node's safety supervisor; what it corrects is counted per episode in
 * metrics.jsonl/.csv, per evaluation, in test.json and in summary.md, and the transitions record
 * the torque the controller actually got.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse } from 'd3-dsv';
import { parseConfig } from '../src/config/load.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { readRecords, type EpisodeRecord, type TestReport } from '../src/report/run_folder.js';
import { SupervisedArm } from '../src/safety/supervised_arm.js';
import { buildArm, simulatedRobotDamping } from '../src/training/factory.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';

const HOME = Float64Array.of(0, 0.8, 0.8);

test('derived damping keeps full torque below the speed limit; with less damping a command that exceeds it is corrected by the training arm\'s supervisor and counted', async () => {
  // The derived D uses the limit: at 2 rad/s it settles joint1 at 0.4 x 2 = 0.8 rad/s.
  const derived = await buildArm(parseConfig({ safety: { velocity_limit: 2 } }));
  derived.reset(HOME, new Float64Array(3));
  let v = 0;
  for (let t = 0; t < 50; t++) v = derived.step(Float64Array.of(0.6, 0, 0)).velocity[0];
  assert.ok(Math.abs(v - 0.8) < 0.05, `steady speed at u_max ${v.toFixed(3)} rad/s`);
  assert.equal(derived.interventions.velocity_limit, 0);
  derived.dispose();
  // Damping given for 20 rad/s (reacher3's URDF limit), the safety limit at 2 rad/s: u_max would reach 8 rad/s.
  const config = parseConfig({ safety: { velocity_limit: 2, joint_damping: [0.075, 0.0125, 0.00375] } });
  const arm = await buildArm(config);
  const bare = await MujocoArm.create('urdf/reacher3.urdf', { jointDamping: simulatedRobotDamping(config) });
  try {
    assert.ok(arm instanceof SupervisedArm);
    const full = Float64Array.of(0.6, 0, 0); // u_max of joint1: settles at 8 rad/s without the rule
    let peak = 0, peakBare = 0;
    arm.reset(HOME, new Float64Array(3));
    bare.reset(HOME, new Float64Array(3));
    for (let t = 0; t < 25; t++) {
      peak = Math.max(peak, Math.abs(arm.step(full).velocity[0]));
      peakBare = Math.max(peakBare, Math.abs(bare.step(full).velocity[0]));
    }
    assert.ok(peakBare > 6, `without the supervisor joint1 reaches ${peakBare.toFixed(2)} rad/s`);
    // The rule acts on the 50 Hz samples: one period of u_max can add u_max [M^-1]_11 dt = 0.6 x 172 x 0.02 = 2.1 rad/s.
    assert.ok(peak < 2 + 2.2, `with it joint1 stays within one period's acceleration of its 2 rad/s limit: ${peak.toFixed(2)} rad/s`);
    assert.ok(arm.interventions.velocity_limit > 5, `counted: ${arm.interventions.velocity_limit}`);
    assert.equal(arm.lastControl[0], 0, 'the accelerating torque was removed from what the controller got');
  } finally {
    arm.dispose();
    bare.dispose();
  }
});

test('a training run counts interventions per episode (metrics.jsonl and .csv), per evaluation, in the held-out test and in summary.md', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-supervised-')), 'run');
  // A velocity limit far below the 8 rad/s the policy's torque can reach (damping given, not
  // derived from the limit): exploration meets it.
  const config = parseConfig({
    seed: 3, task: { horizon: 20 }, safety: { velocity_limit: 1.0, joint_damping: [0.075, 0.0125, 0.00375] },
    agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 20, batch_size: 16, replay_capacity: 5000 },
    model_based: { enabled: false, on_policy_fraction: 1 },
    training: { episodes: 4, eval_every_episodes: 2, eval_episodes: 2, test_episodes: 2, checkpoint_every_episodes: 1000 },
  });
  const t = await Trainer.create(config, runDir, silentLogger());
  try {
    await t.run();
  } finally {
    t.dispose();
  }
  try {
    const metrics = readRecords<EpisodeRecord>(join(runDir, 'metrics.jsonl'));
    assert.equal(metrics.length, 4);
    assert.ok(metrics.every((m) => m.interventions && Object.keys(m.interventions).join() === 'velocity_limit,soft_limit,workspace_limit,torque_clamp,non_finite'));
    const total = metrics.reduce((a, m) => a + m.interventions!.velocity_limit, 0);
    assert.ok(total > 0, 'exploration met the velocity limit');
    const csv = csvParse(readFileSync(join(runDir, 'metrics.csv'), 'utf8'));
    assert.deepEqual(csv.map((r) => Number(r.interventions_velocity_limit)), metrics.map((m) => m.interventions!.velocity_limit));
    const testReport = JSON.parse(readFileSync(join(runDir, 'test.json'), 'utf8')) as TestReport;
    assert.ok(testReport.final.interventions, 'the held-out test counts too');
    const summary = readFileSync(join(runDir, 'summary.md'), 'utf8');
    assert.match(summary, /## Safety supervisor/);
    assert.match(summary, new RegExp(`\\| training: 4 episodes, \\d+ with an intervention \\| 80 \\| ${total} \\| 0 \\| 0 \\| \\d+ \\| 0 \\|`));
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
