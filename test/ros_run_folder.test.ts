/**
 * The node's run folder (`NodeRunFolder`): naf_trainer on the MuJoCo sim bridge over the
 * in-process bus writes config.yaml, one metrics record per completed episode, summary.md and
 * learning_curve.svg, in the formats of `naf-ros train`, so `naf-ros report` reads it; a resume
 * drops the records past its checkpoint and continues them; deploy mode records its episodes too,
 * and a fleet's learner records every arm's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadParamsFile } from '../src/config/load.js';
import { absolutePaths, parameterDiffs } from '../src/config/params_file.js';
import { readRunFacts, writeRunReport } from '../src/report/report.js';
import { readRecords, RUN_FILES, type EpisodeRecord, type EvalRecord } from '../src/report/run_folder.js';
import { createInProcessSystem, type InProcessSystem } from '../src/ros/sim/inprocess_system.js';
import { createInProcessFleet, type InProcessFleet } from '../src/ros/fleet/inprocess_fleet.js';
import { InThreadFleetClient } from '../src/training/fleet_client.js';
import { NafTrainerNode } from '../src/ros/trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/trainer/parameters.js';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { NoLearner } from '../src/ros/deploy/deploy.js';
import { GreedyActor } from '../src/ros/trainer/greedy_actor.js';
import { EPISODE_INTERVENTION_KINDS } from '../src/safety/supervised_arm.js';
import { buildAgent } from '../src/training/factory.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import type { LearnerStats } from '../src/training/learner_types.js';
import { NodeRunFolder } from '../src/training/node_run_folder.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger, jointState, testConfig, testSpec, TinyTask } from './ros_fakes.js';

const T = 20;
const params = (episodes: number, resume = '') => ({
  seed: 5,
  task: { horizon: T },
  agent: { hidden: [32, 32], warmup_steps: 20, batch_size: 16, updates_per_step: 1 },
  model_based: { refit_every_episodes: 2, imagination_length: 2 },
  training: { episodes, publish_policy_every_updates: 5, checkpoint_every_episodes: 2 },
  ros: { resume },
});

/**
 * Advances the bus until `done()`, letting promises (the learner's checkpoints) settle between
 * control periods, as the node's event loop does.
 */
async function runUntil(sys: InProcessSystem, done: () => boolean, maxS = 60): Promise<void> {
  for (let k = 0; k < maxS * 100 && !done(); k++) {
    sys.bus.advance(0.01);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(done(), `not reached within ${maxS} s of bus time (state ${sys.trainer.state}, ${sys.trainer.completed} completed)`);
}

const metrics = (runDir: string) => readRecords<EpisodeRecord>(join(runDir, RUN_FILES.metrics));
const csvRows = (runDir: string) => readFileSync(join(runDir, RUN_FILES.metricsCsv), 'utf8').trim().split('\n').length - 1;

test('node run folder: config.yaml, one record per completed episode, summary and curve, report; resume drops the records past its checkpoint and continues', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-node-folder-')), 'run');
  const cap = captureLogger();
  const stats: LearnerStats[] = [];
  // First session: episode 1, an aborted one (~/pause mid-episode), episodes 2 and 3; the
  // checkpoint after the 2nd completed episode (ckpt-0000003: 3 learner episodes), then a stop.
  let sys = await createInProcessSystem(params(4), (config) => InThreadLearnerClient.create(config, runDir), cap.logger);
  try {
    await runUntil(sys, () => sys.trainer.completed === 1);
    await runUntil(sys, () => sys.trainer.state === 'RUNNING');
    sys.bus.advance(0.1);
    assert.equal(sys.trainer.pause().success, true);
    assert.equal(sys.trainer.resume().success, true);
    await runUntil(sys, () => sys.trainer.completed === 3);
  } finally {
    await sys.close();
  }
  assert.equal(sys.trainer.aborted, 1);
  const files = readdirSync(runDir).sort();
  for (const f of [RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.metricsCsv, RUN_FILES.summary, RUN_FILES.curve, RUN_FILES.checkpoints]) assert.ok(files.includes(f), `${f} in ${files}`);
  assert.deepEqual(readdirSync(join(runDir, RUN_FILES.checkpoints)), ['ckpt-0000003.safetensors']);
  const first = metrics(runDir);
  assert.deepEqual(first.map((r) => r.episode), [1, 2, 3], 'one record per completed episode, none for the aborted one');
  assert.equal(csvRows(runDir), 3);
  for (const r of first) {
    assert.ok(r.controller === 'naf' || r.controller === 'ilqg');
    assert.equal(r.steps, T);
    assert.ok(Number.isFinite(r.return) && r.return < 0 && r.finalDistance > 0 && r.finalDistance < 1, JSON.stringify(r));
    assert.deepEqual(Object.keys(r.interventions!).sort(), [...EPISODE_INTERVENTION_KINDS].sort());
    assert.ok(Number.isFinite(r.wallSeconds) && r.stepsPerSecond > 0);
    assert.deepEqual(r.warnings, []);
  }
  assert.deepEqual(first.map((r) => r.aborted), [0, 1, 1]);
  assert.equal(first[0].totalSteps, T);
  assert.ok(first[2].totalSteps > 3 * T, 'totalSteps counts the aborted episode\'s steps too (they are in R)');
  assert.ok(first.every((r, i) => i === 0 || r.totalUpdates >= first[i - 1].totalUpdates + r.updates), 'updates per episode add up to the totals');
  assert.ok(first[2].updates > 0 && first[2].totalUpdates > 0);

  // The config as a params file the node and the CLI read: the effective config, ros.resume empty.
  const saved = loadParamsFile(join(runDir, RUN_FILES.config));
  assert.deepEqual(parameterDiffs(saved, absolutePaths(sys.config)).map((d) => d.name), []);
  const summary = readFileSync(join(runDir, RUN_FILES.summary), 'utf8');
  assert.match(summary, /3 of 4 episodes \(not finished: `ros2 launch naf_ros <launch file> resume:=.*` \(parameter `ros\.resume`\) continues it\); 1 episode aborted on the arm/);
  assert.match(summary, /None: no greedy evaluation episodes on the arm in this run \(`ros\.eval_every_episodes` 0\)/);
  assert.match(summary, /\| training: 3 episodes, \d with an intervention \| 60 \|/);
  assert.match(readFileSync(join(runDir, RUN_FILES.curve), 'utf8'), /^<svg/);
  // `naf-ros report` on it
  const facts = readRunFacts(runDir);
  assert.equal(facts.writer, 'node');
  await writeRunReport(runDir);
  // the embedded trainer refuses to continue a node run, naming the way that does
  await assert.rejects(Trainer.resume(runDir, silentLogger()), /is a run of the ROS node naf_trainer: continue it on the node \(ros2 launch naf_ros <launch file> resume:=/);

  // Second session: resumed from ckpt-0000003 (2 completed): record 3 is dropped and trained
  // again; the budget grows to 5, which config.yaml records.
  sys = await createInProcessSystem(params(5, runDir), async (config) => {
    const l = await InThreadLearnerClient.create(config, runDir);
    l.onStats((st) => stats.push(st));
    return l;
  }, cap.logger);
  try {
    assert.deepEqual(metrics(runDir).map((r) => r.episode), [1, 2], 'records past the checkpoint dropped at once');
    assert.equal(csvRows(runDir), 2);
    assert.equal(sys.trainer.completed, 2);
    await runUntil(sys, () => sys.trainer.state === 'DONE');
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await sys.close();
  }
  const all = metrics(runDir);
  assert.deepEqual(all.map((r) => r.episode), [1, 2, 3, 4, 5]);
  assert.equal(csvRows(runDir), 5);
  assert.ok(all[2].wallSeconds >= all[1].wallSeconds, 'wall time continues across sessions');
  assert.deepEqual(all.slice(2).map((r) => r.aborted), [1, 1, 1], 'the aborted count continues from the checkpoint');
  const yaml = readFileSync(join(runDir, RUN_FILES.config), 'utf8');
  assert.match(yaml, /changed on resume at episode 2: training\.episodes 4 -> 5/);
  assert.equal(loadParamsFile(join(runDir, RUN_FILES.config)).training.episodes, 5);
  assert.match(readFileSync(join(runDir, RUN_FILES.summary), 'utf8'), /complete, 5 of 5 episodes; 1 episode aborted on the arm/);
  // /diagnostics counts the run's checkpoints: 1 before the resume, then episodes 4 and 5 (the budget's end)
  assert.ok(stats.length > 0);
  assert.ok(stats.every((s) => s.checkpoints >= 1), `checkpoints after the resume: ${stats.map((s) => s.checkpoints)}`);
  assert.equal(stats.at(-1)!.checkpoints, 3);
  assert.deepEqual(readdirSync(join(runDir, RUN_FILES.checkpoints)).sort(), ['ckpt-0000005.safetensors', 'ckpt-0000006.safetensors']);
  assert.equal(cap.count('warn', /run folder/), 0);
  rmSync(join(runDir, '..'), { recursive: true, force: true });
});

test('a run folder that cannot be written: warned once per file, the episodes go on', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-node-unwritable-'));
  const warnings: string[] = [];
  const folder = NodeRunFolder.open(testConfig(), runDir, { warn: (m) => warnings.push(m) });
  assert.ok(existsSync(join(runDir, RUN_FILES.config)));
  // folders where the files should be: every write fails, for root too
  mkdirSync(join(runDir, RUN_FILES.metrics));
  mkdirSync(join(runDir, RUN_FILES.summary));
  const rec = { episode: 1, controller: 'naf', return: -1, finalDistance: 0.1, updates: 0, imagined: 0, loss: NaN, steps: 5, totalSteps: 5, totalUpdates: 0, imaginedTotal: 0, modelMse: NaN, wallSeconds: 1, stepsPerSecond: 5, updatesPerSecond: 0 } as const;
  folder.episode({ ...rec });
  folder.episode({ ...rec, episode: 2 });
  await folder.report(true);
  await folder.report(true);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /^run folder .*: cannot write metrics\.jsonl: EISDIR.*; the node carries on without it \(said once\)$/);
  assert.match(warnings[1], /^run folder .*: cannot write summary\.md: /);
  rmSync(runDir, { recursive: true, force: true });
});

test('greedy evaluations on the arm (ros.eval_every_episodes): fixed starts, the greedy policy, not learned from, recorded in eval.jsonl and the summary', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-node-eval-')), 'run');
  const cap = captureLogger();
  const stats: LearnerStats[] = [];
  const p = { ...params(4), training: { ...params(4).training, eval_episodes: 2 }, ros: { eval_every_episodes: 2 } };
  const sys = await createInProcessSystem(p, async (config) => {
    const l = await InThreadLearnerClient.create(config, runDir);
    l.onStats((st) => stats.push(st));
    return l;
  }, cap.logger);
  try {
    await runUntil(sys, () => sys.trainer.state === 'DONE', 120);
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await sys.close();
  }
  const evals = readRecords<EvalRecord>(join(runDir, RUN_FILES.eval));
  assert.deepEqual(evals.map((e) => e.episode), [2, 4], 'after episodes 2 and 4, the budget\'s last included');
  for (const e of evals) {
    assert.equal(e.returns.length, 2);
    assert.equal(e.finalDistances.length, 2);
    assert.ok(e.returns.every(Number.isFinite) && e.finalDistances.every((d) => d > 0 && d < 1), JSON.stringify(e));
    assert.ok(Number.isFinite(e.wallSeconds) && e.wallSeconds > 0);
    assert.equal(e.totalSteps, e.episode * T, 'the learner\'s real steps when evaluated: the training episodes\' only');
    assert.deepEqual(Object.keys(e.interventions!).sort(), [...EPISODE_INTERVENTION_KINDS].sort());
  }
  assert.deepEqual(metrics(runDir).map((r) => r.episode), [1, 2, 3, 4], 'evaluation episodes are not training episodes');
  assert.equal(sys.trainer.completed, 4);
  assert.equal(stats.at(-1)!.steps, 4 * T, 'nothing of the evaluation episodes reached the learner');
  assert.equal(cap.count('info', /^evaluation after episode 2: \d\/2 within 2 cm/), 1);
  assert.equal(cap.count('info', /^evaluation after episode 4: \d\/2 within 2 cm/), 1);
  await writeRunReport(runDir);
  const summary = readFileSync(join(runDir, RUN_FILES.summary), 'utf8');
  assert.match(summary, /Greedy policy mu\(x\) every 2 episodes, on the arm \(`ros\.eval_every_episodes`/);
  assert.match(summary, /\| last \| 4 \|/);
  rmSync(join(runDir, '..'), { recursive: true, force: true });
});

test('deploy-mode run folder: config.yaml, a record per completed episode, a deploy summary on close', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-deploy-folder-')), 'run');
  const bus = new InProcessBus();
  const cap = captureLogger();
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, testConfig({ mode: 'deploy', deploy: { episodes: 2, checkpoint: '/runs/r/checkpoints/best.safetensors' }, task: { horizon: 5, home_pose: [0, 0.5, 0.5] }, agent: { hidden: [8] } }));
  const task = new TinyTask(config.task.home_pose, config.task.horizon);
  const agent = buildAgent(config, task);
  const snapshot = agent.snapshot();
  agent.dispose();
  const learner = new NoLearner(snapshot, NodeRunFolder.open(config, runDir, { warn: (m) => cap.logger.warn(m) }));
  const trainer = new NafTrainerNode({ node, config, spec: testSpec(), task, actor: new GreedyActor(snapshot, task.uMax, 0.3), learner, rng: new Rng(1), logger: cap.logger, steadyNow: () => bus.now() });
  const probe = bus.createNode('probe');
  const jsPub = probe.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data');
  probe.createTimer(0.01, () => jsPub.publish(jointState(bus.now(), ['joint1', 'joint2', 'joint3'], config.task.home_pose)));
  bus.advance(1.0);
  assert.equal(trainer.state, 'DONE');
  assert.ok(!existsSync(join(runDir, RUN_FILES.summary)), 'no summary while the node runs');
  trainer.shutdown();
  await learner.close();
  const recs = metrics(runDir);
  assert.deepEqual(recs.map((r) => [r.episode, r.controller, r.steps, r.updates, r.aborted]), [[1, 'naf', 5, 0, 0], [2, 'naf', 5, 0, 0]]);
  assert.equal(loadParamsFile(join(runDir, RUN_FILES.config)).mode, 'deploy');
  const facts = readRunFacts(runDir);
  assert.equal(facts.writer, 'deploy');
  const summary = readFileSync(join(runDir, RUN_FILES.summary), 'utf8');
  assert.match(summary, /^# Deploy run run/);
  assert.match(summary, /2 episodes completed of 2 \(`deploy\.episodes`\); 0 aborted/);
  assert.match(summary, /\| 2 \| -?\d+\.\d\d \| 2\/2 \| 0\.00 cm \|/);
  assert.match(readFileSync(join(runDir, RUN_FILES.curve), 'utf8'), /deploy \(greedy policy on the arm\)/);
  assert.equal(cap.count('warn', /run folder/), 0);
  rmSync(join(runDir, '..'), { recursive: true, force: true });
});

test('fleet run folder: the learner records every arm\'s completed episodes with the arm; killed and resumed, the records past its checkpoint are dropped and the redelivered episodes recorded once', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-fleet-folder-')), 'run');
  const cap = captureLogger();
  const fleet: InProcessFleet = await createInProcessFleet({ ...params(8), training: { episodes: 8, publish_policy_every_updates: 5, checkpoint_every_episodes: 3 } },
    { arms: ['/arm1', '/arm2'], makeLearner: (c, d) => InThreadFleetClient.create(c, d), runDir, logger: cap.logger });
  const until = async (pred: () => boolean, maxS = 120) => {
    for (let k = 0; k < maxS * 100 && !pred(); k++) {
      fleet.bus.advance(0.01);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(pred(), 'not reached');
  };
  try {
    await fleet.startLearner();
    await until(() => (fleet.learner!.learner.info.completed ?? 0) >= 4);
    await fleet.killLearner(); // its newest checkpoint holds 3 completed episodes
    assert.ok(metrics(runDir).length >= 4);
    await fleet.startLearner(true);
    assert.deepEqual(metrics(runDir).map((r) => r.episode), [1, 2, 3], 'records past the checkpoint dropped');
    await until(() => [...fleet.arms.values()].every((a) => a.trainer.state === 'DONE'));
  } finally {
    await fleet.close();
  }
  const recs = metrics(runDir);
  assert.deepEqual(recs.map((r) => r.episode), [1, 2, 3, 4, 5, 6, 7, 8], 'the fleet\'s budget, each episode once');
  assert.equal(csvRows(runDir), 8);
  assert.deepEqual([...new Set(recs.map((r) => r.arm))].sort(), ['/arm1', '/arm2']);
  for (const r of recs) {
    assert.equal(r.steps, T);
    assert.ok(r.finalDistance > 0 && r.finalDistance < 1, JSON.stringify(r));
    assert.deepEqual(Object.keys(r.interventions!).sort(), [...EPISODE_INTERVENTION_KINDS].sort(), 'the actors send their interventions');
  }
  assert.equal(readRunFacts(runDir).writer, 'fleet');
  await writeRunReport(runDir);
  const summary = readFileSync(join(runDir, RUN_FILES.summary), 'utf8');
  assert.match(summary, /complete, 8 of 8 episodes/);
  assert.match(summary, /on 2 arms over ROS 2 \(`\/arm\d`, `\/arm\d`\)/);
  assert.match(summary, /\| `\/arm1` \| \d \| -?\d+\.\d\d \|/);
  assert.equal(cap.count('warn', /run folder/), 0);
  rmSync(join(runDir, '..'), { recursive: true, force: true });
});
