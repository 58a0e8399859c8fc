/**
 * The product end to end over the in-process transport, with a fixed seed: naf_sim_bridge
 * (MuJoCo) <-> naf_trainer (homing, episodes, supervisor) <-> the real learner (Algorithm 2).
 * The policy the node learned must improve: its greedy return on fixed evaluation starts (the
 * shared test-return protocol, run on a separate embedded arm) beats the untrained policy's by a
 * clear margin. (Exploration returns on ~/episode_return are too noisy over 25 episodes to judge.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessBus } from '../src/ros/inprocess_transport.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../src/ros/sim_bridge_node.js';
import { NafTrainerNode } from '../src/ros/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/parameters.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { armSpecFromUrdf, parseUrdf } from '../src/env/urdf.js';
import { buildActor, buildTask, projectPath } from '../src/training/factory.js';
import { evaluate, evaluationStarts } from '../src/training/episode.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { parseConfig } from '../src/config/load.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger } from './ros_fakes.js';

test('node + sim bridge + learner: the episode return improves (fixed seed)', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-ros-learn-'));
  const bus = new InProcessBus();
  const cap = captureLogger();
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const arm = await MujocoArm.create(projectPath('urdf/reacher3.urdf'), { dt: 0.01, timestep: 0.002 });
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { publish_clock: false, initial_positions: [0, 0.8, 0.8] }), cap.logger);
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, parseConfig({
    seed: 7,
    task: { horizon: 50 },
    agent: { hidden: [64, 64], architecture: 'shared', updates_per_step: 1 },
    model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 0.5 },
    training: { episodes: 25, publish_policy_every_updates: 5, checkpoint_every_episodes: 1000 },
  }));
  const task = buildTask(config);
  const root = new Rng(config.seed);
  const actor = buildActor(config, task, root);
  const learner = await InThreadLearnerClient.create(config, runDir);
  const returns: number[] = [];
  const probe = bus.createNode('probe');
  probe.createSubscription('std_msgs/msg/Float64', '/naf_trainer/episode_return', 'default', (m) => returns.push(m.data));
  const spec = armSpecFromUrdf(parseUrdf(readFileSync(projectPath(config.urdf_path), 'utf8')), config.joints);
  const trainer = new NafTrainerNode({ node, config, spec, task, actor, learner, rng: root.fork('episodes'), logger: cap.logger, steadyNow: () => bus.now() });
  const evalArm = await MujocoArm.create(projectPath('urdf/reacher3.urdf'), { dt: 0.02 });
  const starts = evaluationStarts(task, 5, 12345, (s) => new Rng(s));
  const greedyReturn = () => {
    const r = evaluate(evalArm, task, actor, starts).returns;
    return r.reduce((a, b) => a + b, 0) / r.length;
  };
  try {
    const before = greedyReturn();
    for (let k = 0; k < 400_000 && trainer.state !== 'DONE'; k++) bus.advance(0.01);
    assert.equal(trainer.state, 'DONE');
    assert.equal(returns.length, 25);
    const after = greedyReturn();
    assert.ok(after > before + 0.25 * Math.abs(before), `greedy return before ${before.toFixed(2)}, after 25 episodes on the node ${after.toFixed(2)}`);
    assert.equal(trainer.supervisor.counts.watchdog + trainer.supervisor.counts.non_finite, 0);
  } finally {
    trainer.shutdown();
    bridge.shutdown();
    await learner.close();
    arm.dispose();
    evalArm.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
