/**
 * Control-loop jitter of naf_trainer over the in-process transport, in real time: the sim bridge
 * (MuJoCo) and the trainer node share one bus driven by a drift-free 10 ms wall-clock scheduler,
 * and the learner trains in its worker thread (as in production). The node's own JitterMeter
 * measures |interval between control callbacks - period| on the steady clock.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { InProcessBus } from '../src/ros/inprocess_transport.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../src/ros/sim_bridge_node.js';
import { NafTrainerNode } from '../src/ros/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/parameters.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { armSpecFromUrdf, parseUrdf } from '../src/env/urdf.js';
import { buildActor, buildTask, projectPath } from '../src/training/factory.js';
import { WorkerLearnerClient } from '../src/training/learner_client.js';
import { silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';

export async function nodeJitter(params: unknown, seconds: number): Promise<{ mean: number; p99: number; max: number; n: number; episodes: number; skippedSteps: number }> {
  const bus = new InProcessBus();
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const arm = await MujocoArm.create(projectPath('urdf/reacher3.urdf'), { dt: 0.01, timestep: 0.002 });
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { publish_clock: false }), silentLogger());
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, parseConfig(params, 'jitter bench'));
  const task = buildTask(config);
  const root = new Rng(config.seed);
  const learner = await WorkerLearnerClient.create(config, mkdtempSync(join(tmpdir(), 'naf-jitter-')));
  let skippedSteps = 0;
  learner.onStats((s) => { skippedSteps = s.skippedSteps; });
  const spec = armSpecFromUrdf(parseUrdf(readFileSync(projectPath(config.urdf_path), 'utf8')), config.joints);
  const trainer = new NafTrainerNode({ node, config, spec, task, actor: buildActor(config, task, root), learner, rng: root.fork('episodes'), logger: silentLogger(), steadyNow: () => performance.now() / 1000 });
  const t0 = performance.now();
  for (let k = 1; performance.now() - t0 < seconds * 1000; k++) {
    bus.advance(0.01);
    const wait = t0 + k * 10 - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  const stats = trainer.jitter.stats();
  const episodes = trainer.completed;
  trainer.shutdown();
  bridge.shutdown();
  await Promise.race([learner.close(), new Promise((r) => setTimeout(r, 3000))]);
  arm.dispose();
  return { ...stats, episodes, skippedSteps };
}
