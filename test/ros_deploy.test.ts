/**
 * Deploy mode (`mode: deploy`): the node runs a fixed greedy policy through the same homing,
 * supervisor, watchdog and e-stop as training, with no learning, no exploration and no iLQG;
 * `naf-ros run` runs it against the MuJoCo sim bridge on the in-process bus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor } from '../src/agent/actor.js';
import { parseConfig } from '../src/config/load.js';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { NafTrainerNode } from '../src/ros/trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/trainer/parameters.js';
import { checkPolicyFits, deployParts, deployStarts, NoLearner } from '../src/ros/deploy/deploy.js';
import { GreedyActor } from '../src/ros/trainer/greedy_actor.js';
import { testStarts } from '../src/training/episode.js';
import { runEmbeddedDeploy } from '../src/ros/deploy/deploy_system.js';
import { buildAgent, buildTask } from '../src/training/factory.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger, jointState, testConfig, testSpec, TinyTask } from './ros_fakes.js';

const J = ['joint1', 'joint2', 'joint3'];

test('deploy mode on the node: torque = clamp(mu(x)), budget then zero torque, nothing saved, e-stop still latches', async () => {
  const bus = new InProcessBus();
  const cap = captureLogger();
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, testConfig({ mode: 'deploy', deploy: { episodes: 2 }, task: { horizon: 5, home_pose: [0, 0.5, 0.5] }, agent: { hidden: [8] } }));
  const task = new TinyTask(config.task.home_pose, config.task.horizon);
  const agent = buildAgent(config, task); // a small untrained NAF network: any fixed policy will do
  const snapshot = agent.snapshot();
  agent.dispose();
  const learner = new NoLearner(snapshot);
  const trainer = new NafTrainerNode({ node, config, spec: testSpec(), task, actor: new GreedyActor(snapshot, task.uMax, 0.3), learner, rng: new Rng(1), logger: cap.logger, steadyNow: () => bus.now() });
  const probe = bus.createNode('probe');
  const cmds: number[][] = [];
  probe.createSubscription('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default', (m) => cmds.push(Array.from(m.data)));
  const jsPub = probe.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data');
  probe.createTimer(0.01, () => jsPub.publish(jointState(bus.now(), J, config.task.home_pose)));
  bus.advance(1.0);
  assert.equal(trainer.state, 'DONE');
  assert.equal(trainer.completed, 2);
  assert.equal(learner.episodes, 2);
  const x = task.observe({ position: Float64Array.from(config.task.home_pose), velocity: new Float64Array(3), effort: new Float64Array(0), stamp: 0 } as never);
  const mu = createActor(snapshot).mu(x).map((u) => Math.max(-3, Math.min(3, u))); // 3 N·m: safety.max_effort
  const policyCmds = cmds.filter((c) => c.some((v) => v !== 0));
  assert.ok(policyCmds.length >= 10, 'T = 5 steps per episode, 2 episodes');
  for (const c of policyCmds) c.forEach((v, i) => assert.ok(Math.abs(v - mu[i]) < 1e-9, `published ${c}, mu ${Array.from(mu)}`));
  assert.ok(cmds.slice(-5).every((c) => c.every((v) => v === 0)), 'zero torque after the budget');
  assert.equal(trainer.supervisor.counts.p_cap, 0, 'p is not guarded against in deploy mode');
  const saved = await probe.createClient('std_srvs/srv/Trigger', '/naf_trainer/save').call({});
  assert.deepEqual(saved, { success: false, message: 'deploy mode: no learning, nothing to save' });
  assert.equal(cap.count('error', /checkpoint failed/), 0);
  // e-stop in deploy mode
  probe.createPublisher('std_msgs/msg/Bool', '/naf_trainer/estop', 'latched').publish({ data: true });
  bus.advance(0.1);
  assert.equal(trainer.state, 'ESTOP');
  assert.ok(cmds.slice(-3).every((c) => c.every((v) => v === 0)));
  trainer.shutdown();
});

test('a trained checkpoint deployed on the embedded arm: greedy and deterministic, no learning; a mismatched arm is refused', async () => {
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-deploy-')), 'run');
  const config = parseConfig({
    seed: 4, task: { horizon: 20 },
    agent: { hidden: [24, 24], warmup_steps: 20, batch_size: 16, replay_capacity: 5000, updates_per_step: 1 },
    model_based: { refit_every_episodes: 2, imagination_length: 2 },
    training: { episodes: 3, eval_every_episodes: 3, eval_episodes: 2, test_episodes: 2 },
  });
  const t = await Trainer.create(config, runDir, silentLogger());
  await t.run();
  t.dispose();
  const best = join(runDir, 'checkpoints', 'best.safetensors');
  const before = readFileSync(best);
  const run = () => runEmbeddedDeploy(join(runDir, 'checkpoints', 'best'), { episodes: 3, logger: silentLogger() });
  const a = await run();
  const b = await run();
  assert.equal(a.state, 'DONE');
  assert.equal(a.episodes.length, 3);
  assert.ok(a.episodes.every((e) => !e.aborted && Number.isFinite(e.return) && e.finalDistance >= 0 && e.finalDistance < 0.5));
  assert.equal(a.interventions.watchdog + a.interventions.non_finite + a.interventions.estop, 0);
  assert.deepEqual(b.episodes, a.episodes, 'no exploration noise, no learning: the same episodes again');
  assert.ok(readFileSync(best).equals(before), 'the checkpoint is not touched');

  const other = parseConfig({ ...config, mode: 'deploy', deploy: { checkpoint: best } });
  await assert.rejects(deployParts(other, new TinyTask([0, 0.8, 0.8], 20), silentLogger()), /was trained on joints \["joint1","joint2","joint3"\] \(dX 11, dU 3\); this node controls .* \(dX 6, dU 3\)/);
  const fits = await deployParts(other, buildTask(other), silentLogger());
  assert.equal(fits.checkpoint, best);
  const none = parseConfig({ mode: 'deploy' });
  await assert.rejects(deployParts(none, buildTask(none), silentLogger()), /mode deploy needs deploy\.checkpoint/);
});

test('deploy mode starts its episodes from the held-out test starts (training.test_seed), as test.json and naf-ros eval', () => {
  const config = testConfig({ training: { test_seed: 77 } });
  const task = buildTask(parseConfig({ training: { test_seed: 77 } }));
  const rng = deployStarts(config);
  const deployed = Array.from({ length: 4 }, () => task.sampleEpisodeStart(rng));
  const held = testStarts(task, 4, 77);
  assert.deepEqual(deployed.map((s) => Array.from(s.q)), held.map((s) => Array.from(s.q)));
  assert.notDeepEqual(Array.from(task.sampleEpisodeStart(deployStarts(testConfig({ training: { test_seed: 78 } }))).q), Array.from(held[0].q));
});

test('deploy warns of every difference from training in the plant the policy learned: damping, the speed limit it is derived from, gravity compensation, the torque bound', () => {
  const trained = parseConfig({});
  const same = checkPolicyFits(trained, trained, { dX: 11, dU: 3 } as never, { dX: 11, dU: 3 } as never, 'ckpt');
  assert.deepEqual(same, []);
  const node = parseConfig({ safety: { velocity_limit: 4, damping_injection: 'node' }, task: { action_effort_fraction: 0.5 } });
  const w = checkPolicyFits(node, trained, { dX: 11, dU: 3 } as never, { dX: 11, dU: 3 } as never, 'ckpt');
  assert.ok(w.some((x) => /safety\.velocity_limit is 4, the policy was trained with 20 \(the derived damping D follows it/.test(x)), w.join('\n'));
  assert.ok(w.some((x) => /safety\.damping_injection is "node", the policy was trained with "hardware"/.test(x)));
  assert.ok(w.some((x) => /task\.action_effort_fraction is 0\.5, the policy was trained with 1/.test(x)));
});
