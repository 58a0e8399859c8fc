/**
 * The whole ROS-side system in one process, over the in-process transport: `naf_sim_bridge`
 * (the MuJoCo arm of the config's `urdf_path`, starting at q = 0) and `naf_trainer` (homing,
 * episodes, supervisor, with the arm's rigid-body model) with a learner client.
 * Used by the end-to-end tests and the control-loop jitter benchmark; the ROS 2 launch files run
 * the same two nodes as two processes over DDS.
 */
import type { NafConfig } from '../../config/schema.js';
import { parseConfig } from '../../config/load.js';
import { MujocoArm } from '../../env/mujoco_arm.js';
import { buildActor, buildArmDynamics, buildSpec, buildTask, projectPath, simulatedRobotDamping } from '../../training/factory.js';
import type { EpisodeActor } from '../../training/episode_actor.js';
import type { LearnerClient } from '../../training/learner_client.js';
import type { ReachTask } from '../../env/reach_task.js';
import type { Logger } from '../../util/logger.js';
import { Rng } from '../../util/rng.js';
import { InProcessBus } from '../transport/inprocess_transport.js';
import { NafTrainerNode } from '../trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../trainer/parameters.js';
import { declareSimBridgeParameters, SimBridgeNode } from './sim_bridge_node.js';

export interface InProcessSystem {
  bus: InProcessBus;
  config: NafConfig;
  task: ReachTask;
  actor: EpisodeActor;
  learner: LearnerClient;
  trainer: NafTrainerNode;
  bridge: SimBridgeNode;
  /** Stops both nodes, closes the learner (bounded wait) and frees the arm. */
  close(): Promise<void>;
}

/**
 * Builds bridge + trainer on a new bus.
 * @param params the trainer's parameters (validated; the params-file content)
 * @param makeLearner the learner client (in-thread for deterministic tests, worker in benches)
 * @param opts.steadyNow clock of the jitter meter, s (default: the bus's virtual clock)
 */
export async function createInProcessSystem(
  params: unknown,
  makeLearner: (config: NafConfig) => Promise<LearnerClient>,
  logger: Logger,
  opts: { steadyNow?: () => number; bridgeRateHz?: number } = {},
): Promise<InProcessSystem> {
  const bus = new InProcessBus();
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const node = bus.createNode('naf_trainer');
  const config = declareConfigParameters(node, parseConfig(params, 'in-process system'));
  const rate = opts.bridgeRateHz ?? 100;
  const arm = await MujocoArm.create(projectPath(config.urdf_path), { dt: 1 / rate, timestep: 0.002, jointNames: config.joints, meshSearchPath: config.mesh_search_path, jointDamping: simulatedRobotDamping(config) });
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { publish_clock: false, rate_hz: rate }), logger);
  const task = buildTask(config);
  const root = new Rng(config.seed);
  const actor = buildActor(config, task, root);
  const learner = await makeLearner(config);
  const spec = buildSpec(config);
  const dynamics = await buildArmDynamics(config);
  const trainer = new NafTrainerNode({
    node, config, spec, task, actor, learner, rng: root.fork('episodes'), logger,
    steadyNow: opts.steadyNow ?? (() => bus.now()), dynamics, tip: task.chain,
  });
  return {
    bus, config, task, actor, learner, trainer, bridge,
    async close() {
      trainer.shutdown();
      bridge.shutdown();
      await Promise.race([learner.close(), new Promise((r) => setTimeout(r, 3000))]);
      arm.dispose();
      dynamics.dispose();
    },
  };
}
