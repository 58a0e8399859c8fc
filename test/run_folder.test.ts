/**
 * The run folder a person reads after training: every file README documents is there, the
 * resolved config goes back into --config, the CSV matches the JSON lines, the held-out test and
 * the best checkpoint exist, and `naf-ros report` rebuilds plot and summary for any run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse } from 'd3-dsv';
import { loadParamsFile, parseConfig } from '../src/config/load.js';
import { absolutePaths } from '../src/config/params_file.js';
import { readRecords, type EvalRecord, type TestReport } from '../src/report/run_folder.js';
import { writeRunReport } from '../src/report/report.js';
import { evaluationStarts, randomTargetTestStarts, testStarts } from '../src/training/episode.js';
import { evaluateCheckpoint } from '../src/training/eval_command.js';
import { buildTask } from '../src/training/factory.js';
import { Trainer } from '../src/training/trainer.js';
import { createLogger, silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';
import { readRolloutMcap } from '../src/viz/mcap_read.js';

const params = {
  seed: 5,
  task: { horizon: 20 },
  agent: { hidden: [24, 24], updates_per_step: 1, warmup_steps: 20, batch_size: 16, replay_capacity: 5000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 5, imagination_starts: 2, imagination_length: 3 },
  training: { episodes: 6, eval_every_episodes: 2, eval_episodes: 3, test_episodes: 4, test_random_targets: 3, checkpoint_every_episodes: 1 },
};

test('a finished run folder: config.yaml, JSON lines + CSV, test.json, plot, summary, newest + best checkpoints', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-runfolder-')), 'run');
  const config = parseConfig(params);
  const t = await Trainer.create(config, runDir, createLogger({ file: join(runDir, 'log.jsonl'), console: false }));
  const out = await t.run();
  t.dispose();
  assert.equal(out.stopped, false);
  assert.deepEqual(readdirSync(runDir).sort(), ['checkpoints', 'config.yaml', 'eval.csv', 'eval.jsonl', 'learning_curve.svg', 'log.jsonl', 'metrics.csv', 'metrics.jsonl', 'summary.md', 'test.json', 'test_final.mcap']);
  // the resolved config is a params file --config accepts, and means the same
  assert.deepEqual(loadParamsFile(join(runDir, 'config.yaml')), absolutePaths(config));
  assert.match(readFileSync(join(runDir, 'config.yaml'), 'utf8'), /^naf_trainer:\n {2}ros__parameters:\n/m);
  assert.match(readFileSync(join(runDir, 'config.yaml'), 'utf8'), /control_rate_hz: 50\.0\n/, 'doubles keep a decimal point (rcl types by literal)');
  // CSV twins: same rows, same values
  const metrics = readRecords<{ episode: number; return: number; finalDistance: number }>(join(runDir, 'metrics.jsonl'));
  const csv = csvParse(readFileSync(join(runDir, 'metrics.csv'), 'utf8'));
  assert.deepEqual(metrics.map((m) => m.episode), [1, 2, 3, 4, 5, 6]);
  assert.equal(csv.length, 6);
  assert.equal(Number(csv[2].return), metrics[2].return);
  assert.equal(Number(csv[2].finalDistance), metrics[2].finalDistance);
  const evals = readRecords<EvalRecord>(join(runDir, 'eval.jsonl'));
  assert.deepEqual(evals.map((e) => e.episode), [0, 2, 4, 6]);
  assert.ok(evals.every((e) => e.successes === e.finalDistances.filter((d) => d < 0.02).length && e.finalDistances.length === 3));
  assert.equal(evals.filter((e) => e.best).at(-1)!.episode, out.test!.best!.episode, 'the last best evaluation is the best checkpoint');
  assert.deepEqual(Object.keys(csvParse(readFileSync(join(runDir, 'eval.csv'), 'utf8'))[0]).slice(0, 6), ['episode', 'totalSteps', 'meanReturn', 'successes', 'medianDistance', 'returns_1']);
  // checkpoints: one file each, two newest + best
  assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['best.safetensors', 'ckpt-0000005.safetensors', 'ckpt-0000006.safetensors']);
  // held-out test of final and best
  const test = JSON.parse(readFileSync(join(runDir, 'test.json'), 'utf8')) as TestReport;
  assert.equal(test.final.episode, 6);
  assert.equal(test.final.finalDistances.length, 4);
  assert.equal(test.best!.checkpoint, 'checkpoints/best.safetensors');
  // ... and both on random reachable targets: 3 targets, none the task's fixed one, all different
  assert.equal(test.randomTargets!.episodes, 3);
  assert.equal(test.randomTargets!.final.finalDistances.length, 3);
  assert.equal(test.randomTargets!.best!.episode, test.best!.episode);
  const randomStarts = randomTargetTestStarts(buildTask(config), 3, config.training.test_seed);
  assert.equal(new Set(randomStarts.map((s) => Array.from(s.target).join())).size, 3);
  assert.ok(randomStarts.every((s) => Array.from(s.target).join() !== config.task.fixed_target.join()));
  assert.match(readFileSync(join(runDir, 'summary.md'), 'utf8'), /On 3 random reachable targets across the workspace/);
  // naf-ros eval --random-targets of the best checkpoint: the same targets, the same distances
  const again = await evaluateCheckpoint(join(runDir, 'checkpoints', 'best'), { randomTargets: true });
  assert.equal(again.randomTargets, true);
  assert.deepEqual(again.finalDistances, test.randomTargets!.best!.finalDistances);
  // ... and the final policy's test episodes, recorded: the same starts, the same final distances
  const rollout = await readRolloutMcap(join(runDir, 'test_final.mcap'));
  assert.equal(rollout.episodes.length, 4);
  assert.ok(rollout.episodes.every((e) => e.steps.length === 21), 'the reset reading and T = 20 steps');
  const chain = buildTask(config).chain;
  testStarts(buildTask(config), 4, config.training.test_seed).forEach((s, i) => {
    const e = rollout.episodes[i];
    assert.deepEqual(e.target, Array.from(s.target));
    assert.deepEqual(e.steps[0].q, Array.from(s.q));
    assert.equal(e.finalDistance, test.final.finalDistances[i]);
    const tip = chain.position(e.steps.at(-1)!.q);
    assert.ok(Math.abs(Math.hypot(tip[0] - e.target[0], tip[1] - e.target[1], tip[2] - e.target[2]) - test.final.finalDistances[i]) < 1e-9);
  });
  const summary = readFileSync(join(runDir, 'summary.md'), 'utf8');
  assert.match(summary, /complete, 6 of 6 episodes/);
  assert.match(summary, /\| final \| 6 \|/);
  assert.match(summary, new RegExp(`\`npx naf-ros eval --checkpoint ${join(runDir, 'checkpoints', 'best')}\``));
  assert.match(summary, new RegExp(`recorded in \\[\`test_final.mcap\`\\].*\`npx naf-ros view ${runDir}\``));
  const svg = readFileSync(join(runDir, 'learning_curve.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  for (const label of ['return (sum of rewards)', 'success (&lt; 2 cm)', 'final distance, cm', 'evaluation (3 starts)', 'training (iLQG)',
    'held-out test, final policy (episode 6, 4 starts)', `held-out test, best policy (episode ${test.best!.episode}, 4 starts)`, 'wall-clock training time']) assert.ok(svg.includes(label), label);
  assert.ok(!svg.includes('greedy test'), 'the evaluation is called evaluation');
});

test('naf-ros report rebuilds plot and summary of an unfinished run, and of a run of the previous layout', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-report-')), 'run');
  const t = await Trainer.create(parseConfig(params), runDir, silentLogger());
  for (let i = 0; i < 3; i++) await t.trainEpisode();
  t.dispose();
  assert.ok(!existsSync(join(runDir, 'summary.md')));
  await writeRunReport(runDir);
  const summary = readFileSync(join(runDir, 'summary.md'), 'utf8');
  assert.match(summary, /3 of 6 episodes \(not finished: `npx naf-ros train --resume/);
  assert.match(summary, /Not run yet/);
  assert.ok(readFileSync(join(runDir, 'learning_curve.svg'), 'utf8').startsWith('<svg'));
  // previous layout: config.json, eval lines without success counts
  renameSync(join(runDir, 'config.yaml'), join(runDir, 'old.yaml'));
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...params, urdf_path: 'urdf/reacher3.urdf' }));
  writeFileSync(join(runDir, 'eval.jsonl'), JSON.stringify({ episode: 0, totalSteps: 0, meanReturn: -4, returns: [-4, -4], finalDistances: [0.01, 0.3], wallSeconds: 0 }) + '\n');
  rmSync(join(runDir, 'summary.md'));
  await writeRunReport(runDir);
  assert.match(readFileSync(join(runDir, 'summary.md'), 'utf8'), /\| last \| 0 \| -4\.00 \| 1\/2 \|/);
});

test('held-out starts: the evaluation and test starts are none of the training starts, nor each other', async () => {
  const config = parseConfig({ ...params, task: { target_mode: 'random' } });
  const task = buildTask(config);
  const training = new Rng(config.seed).fork('episodes');
  const key = (s: { q: Float64Array; target: Float64Array }) => `${Array.from(s.q).join()}|${Array.from(s.target).join()}`;
  const seen = new Set(Array.from({ length: 500 }, () => key(task.sampleEpisodeStart(training))));
  const evals = evaluationStarts(task, 20, config.seed).map(key); // even with eval_seed = seed
  const tests = testStarts(task, 20, config.seed).map(key);
  assert.ok(evals.every((k) => !seen.has(k)) && tests.every((k) => !seen.has(k)));
  assert.ok(evals.every((k) => !tests.includes(k)));
  const randomTests = randomTargetTestStarts(task, 20, config.seed).map(key);
  assert.ok(randomTests.every((k) => !seen.has(k) && !tests.includes(k) && !evals.includes(k)));
  assert.deepEqual(evaluationStarts(task, 3, 7).map(key), evaluationStarts(task, 3, 7).map(key), 'fixed: the same starts every evaluation');
});
