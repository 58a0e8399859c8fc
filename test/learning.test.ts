/**
 * Learning, end to end on the embedded MuJoCo arm with a fixed seed: a short Algorithm 2 run (NAF
 * with tvlg imagination, p = 0.5; a small shared-trunk network to keep the test fast) must beat
 * the measured return of the random policy on the same evaluation starts by a clear margin.
 * Deterministic: same seed, same backend, same result. Judged on the mean greedy return of the
 * last three evaluations (episodes 15, 20, 25): single evaluations swing by several units at this
 * stage (e.g. -14.2 at episode 10, -4.9 at 15), and a change of float rounding alone
 * has moved one of them across the line. Measured over seeds 3, 5, 7, 9, 11, 13 with this
 * code (actions normalised, R_f aged to 2 refits, iLQG's initial variance a fraction of u_max²,
 * 10 held-out evaluation starts): -8.5, -5.2, -6.0, -6.4, -5.5, -4.8 against the threshold -8.38
 * (random -11.18 + 25%); seed 3 fails it (-12.4 at episode 15).
 * (20 episodes of NAF alone were measured too noisy for a test: greedy returns at episode 20
 * ranged from -5.6 to -10 across seeds.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { Trainer } from '../src/training/trainer.js';
import { evaluationStarts } from '../src/training/episode.js';
import { silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';

test('Algorithm 2 improves on the random policy within 25 episodes (fixed seed)', async () => {
  const config = parseConfig({
    seed: 7,
    task: { horizon: 50, target_mode: 'fixed' },
    agent: { kind: 'naf', hidden: [64, 64], architecture: 'shared', updates_per_step: 1 },
    model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 0.5 },
    training: { episodes: 25, eval_every_episodes: 5, eval_episodes: 10, checkpoint_every_episodes: 25 },
  });
  const trainer = await Trainer.create(config, join(mkdtempSync(join(tmpdir(), 'naf-learn-')), 'run'), silentLogger());
  const { arm, task } = trainer.parts;

  // The random policy: uniform torques in [-u_max, u_max], on the evaluation starts.
  const rng = new Rng(99);
  const randomReturns = evaluationStarts(task, config.training.eval_episodes, config.training.eval_seed).map((start) => {
    task.setTarget(start.target);
    let x = task.observe(arm.reset(start.q, start.qd));
    let ret = 0;
    for (let t = 0; t < task.T; t++) {
      const u = Float64Array.from(task.uMax, (m) => m * (2 * rng.uniform() - 1));
      const x2 = task.observe(arm.step(u));
      ret += task.reward(x, u);
      x = x2;
    }
    return ret;
  });
  const randomReturn = randomReturns.reduce((a, b) => a + b, 0) / randomReturns.length;

  const evals: number[] = [];
  const warned: string[] = [];
  await trainer.run({ onEval: (e) => evals.push(e.meanReturn), onWarning: (w) => warned.push(`${w.code}@${w.episode}`) });
  trainer.dispose();
  assert.deepEqual(warned, [], 'a learning run raises no not-learning warning (test/not_learning.test.ts: runs that do)');
  const trained = (evals[evals.length - 1] + evals[evals.length - 2] + evals[evals.length - 3]) / 3; // episodes 15, 20, 25
  const untrained = evals[0];
  // Clear margin: at least 25% of the way from the random policy's return to zero.
  assert.ok(trained > randomReturn + 0.25 * Math.abs(randomReturn), `trained ${trained.toFixed(2)} vs random ${randomReturn.toFixed(2)} (untrained greedy ${untrained.toFixed(2)})`);
  assert.ok(trained > untrained, `trained ${trained.toFixed(2)} vs untrained ${untrained.toFixed(2)}`);
});

/*
 * The same on the 6-DoF arm under gravity (urdf/ur5e.urdf, gravity compensation `model`, a fixed
 * 3-D target 0.21 m from the home tool0): a short Algorithm 2 run with a small network must
 * improve on its own untrained greedy return (measured: -6.00 on the held-out evaluation starts,
 * i.e. the arm staying near home), judged on the mean of the last three evaluations. Measured
 * 2026-11-26 (wasm, flat-buffer NAF, actions normalised, R_f aged, held-out starts), mean of the
 * evaluations at episodes 20, 25, 30: seed 3 -2.87, seed 1 -5.31, seed 5 -2.92; the bar is -4.50
 * (seed 1 fails it). ~11 s alone.
 */
test('Algorithm 2 on the UR5e improves on its initial greedy return within 30 episodes (fixed seed)', async () => {
  const config = parseConfig({
    seed: 3, urdf_path: 'urdf/ur5e.urdf',
    joints: ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint'],
    task: { horizon: 30, tip_link: 'tool0', home_pose: [0, -1.5708, 1.5708, -1.5708, -1.5708, 0], fixed_target: [0.4, 0.3, 0.4], action_effort_fraction: 0.2 },
    safety: { gravity_compensation: 'model' },
    agent: { kind: 'naf', hidden: [64, 64], architecture: 'shared', updates_per_step: 1, warmup_steps: 60 },
    model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 0.5, refit_every_episodes: 3, imagination_length: 5 },
    training: { episodes: 30, eval_every_episodes: 5, eval_episodes: 5, checkpoint_every_episodes: 1000 },
  });
  const trainer = await Trainer.create(config, join(mkdtempSync(join(tmpdir(), 'naf-learn-ur5e-')), 'run'), silentLogger());
  const evals: number[] = [];
  const warned: string[] = [];
  await trainer.run({ onEval: (e) => evals.push(e.meanReturn), onWarning: (w) => warned.push(`${w.code}@${w.episode}`) });
  trainer.dispose();
  assert.deepEqual(warned, [], 'a learning run raises no not-learning warning');
  const untrained = evals[0];
  const trained = evals.slice(-3).reduce((a, b) => a + b, 0) / 3; // episodes 20, 25, 30
  assert.ok(Math.abs(untrained + 6.0) < 0.05, `untrained greedy return ${untrained.toFixed(2)} (measured -6.00)`);
  // Clear margin: at least 25% of the way from the untrained return to zero.
  assert.ok(trained > untrained + 0.25 * Math.abs(untrained), `trained ${trained.toFixed(2)} vs untrained ${untrained.toFixed(2)} (evals ${evals.map((e) => e.toFixed(2)).join(', ')})`);
});
