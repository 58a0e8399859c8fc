/**
 * The whole ROS-side loop in one process: naf_sim_bridge (MuJoCo) <-> naf_trainer over the
 * in-process bus, with the real episode actor and the learner in-thread (the ROS node uses the
 * worker-thread client; same interface). Short and small: it checks the plumbing (episodes run,
 * transitions reach the learner, fresh policies come back, returns and checkpoints), not learning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessBus } from '../src/ros/inprocess_transport.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../src/ros/sim_bridge_node.js';
import { NafTrainerNode } from '../src/ros/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/parameters.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { armSpecFromUrdf, parseUrdf } from '../src/env/urdf.js';
import { buildTask, projectPath } from '../src/training/factory.js';
import { createNoise } from '../src/agent/noise.js';
import { EpisodeActor } from '../src/training/episode_actor.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { parseConfig } from '../src/config/load.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger } from './ros_fakes.js';

test('sim bridge + trainer + in-thread learner: episodes complete, policies refresh, checkpoint on ~/save', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-ros-loop-'));
  const bus = new InProcessBus();
  const cap = captureLogger();
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const arm = await MujocoArm.create(projectPath('urdf/reacher3.urdf'), { dt: 0.01, timestep: 0.002 });
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { publish_clock: false, initial_positions: [0, 0.6, 0.6] }), cap.logger);
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, parseConfig({
    seed: 5,
    task: { horizon: 20 },
    agent: { hidden: [32, 32], warmup_steps: 20, batch_size: 16, updates_per_step: 1 },
    model_based: { refit_every_episodes: 2, imagination_length: 2 },
    safety: { homing_kp: 0.2, homing_kd: 0.004 },
    training: { episodes: 6, publish_policy_every_updates: 5, checkpoint_every_episodes: 1000 },
  }));
  const task = buildTask(config);
  const root = new Rng(config.seed);
  const ex = config.exploration;
  const actor = new EpisodeActor({
    uMax: task.uMax, onPolicyFraction: config.model_based.on_policy_fraction, maxOnPolicyFraction: config.model_based.max_on_policy_fraction,
    noise: createNoise(ex.kind, { dU: task.dU, uMax: task.uMax, sigma: ex.sigma, theta: ex.theta, c: ex.precision_scale }, root.fork('noise')),
    ilqgNoise: ex.ilqg_noise,
  }, root.fork('actor'));
  const learner = await InThreadLearnerClient.create(config, runDir);
  const model = parseUrdf(readFileSync(projectPath(config.urdf_path), 'utf8'));
  const returns: number[] = [];
  const probe = bus.createNode('probe');
  probe.createSubscription('std_msgs/msg/Float64', '/naf_trainer/episode_return', 'default', (m) => returns.push(m.data));
  const trainer = new NafTrainerNode({ node, config, spec: armSpecFromUrdf(model, config.joints), task, actor, learner, rng: root.fork('episodes'), logger: cap.logger, steadyNow: () => bus.now() });
  try {
    const v0 = actor.policyVersion;
    for (let k = 0; k < 6000 && trainer.state !== 'DONE'; k++) bus.advance(0.01);
    assert.equal(trainer.state, 'DONE');
    assert.deepEqual([trainer.completed, trainer.aborted], [6, 0]);
    assert.equal(returns.length, 6);
    assert.ok(returns.every((r) => Number.isFinite(r) && r < 0), `returns ${returns}`);
    assert.ok(actor.policyVersion > v0, 'the learner trained and sent fresh weights');
    assert.equal(trainer.supervisor.counts.watchdog + trainer.supervisor.counts.non_finite, 0);
    const p = probe.createClient('std_srvs/srv/Trigger', '/naf_trainer/save').call({});
    const saved = await p;
    assert.equal(saved.success, true, saved.message);
    assert.ok(existsSync(saved.message), `checkpoint at ${saved.message}`);
  } finally {
    trainer.shutdown();
    bridge.shutdown();
    await learner.close();
    arm.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
