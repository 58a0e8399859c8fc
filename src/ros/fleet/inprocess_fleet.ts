/**
 * A fleet in one process, over the in-process transport: per arm a MuJoCo sim bridge
 * and an actor (`naf_trainer`, `fleet.role: actor`, with `RosLearnerClient`) in the arm's
 * namespace (`/arm1`, `/arm2`, ...), and one learner node (`naf_learner` with a fleet learner
 * client, in-thread for deterministic tests or in its worker thread for the bench). The same
 * nodes `launch/fleet.launch.py` starts as separate processes over DDS.
 *
 * Arms can join and leave, and the learner can be killed (its node destroyed, its learner
 * dropped without a checkpoint, as SIGKILL would) and started again from its run folder.
 */
import type { NafConfig } from '../../config/schema.js';
import { parseConfig } from '../../config/load.js';
import { MujocoArm } from '../../env/mujoco_arm.js';
import type { ReachTask } from '../../env/reach_task.js';
import type { RigidBodyModel } from '../../env/rigid_body.js';
import type { EpisodeActor } from '../../training/episode_actor.js';
import { buildActor, buildArmDynamics, buildSpec, buildTask, projectPath, simulatedRobotDamping } from '../../training/factory.js';
import type { FleetLearnerClient } from '../../training/fleet_client.js';
import type { Logger } from '../../util/logger.js';
import { Rng } from '../../util/rng.js';
import { InProcessBus, type InProcessNode } from '../transport/inprocess_transport.js';
import { NafLearnerNode } from './naf_learner_node.js';
import { NafTrainerNode } from '../trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../trainer/parameters.js';
import { RosLearnerClient } from './ros_learner_client.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../sim/sim_bridge_node.js';

/** One arm of the fleet: its simulated arm behind its bridge, and its actor. */
export interface FleetArm {
  ns: string;
  config: NafConfig;
  bridge: SimBridgeNode;
  trainer: NafTrainerNode;
  actor: EpisodeActor;
  client: RosLearnerClient;
  node: InProcessNode;
}

export interface FleetLearnerHandle {
  node: InProcessNode;
  learner: NafLearnerNode;
  client: FleetLearnerClient;
}

export interface InProcessFleet {
  bus: InProcessBus;
  /** The learner's config (the params without the actor overrides). */
  config: NafConfig;
  task: ReachTask;
  runDir: string;
  arms: Map<string, FleetArm>;
  learner: FleetLearnerHandle | null;
  /** Adds an arm in namespace `ns` (its bridge starts at q = 0; its actor homes, then acts). */
  addArm(ns: string): Promise<FleetArm>;
  /** The actor of `ns` goes away without a goodbye (its node is destroyed; the bridge's command timeout zeroes the torque). */
  killArm(ns: string): void;
  /** Starts the learner node; `resume`: from the newest checkpoint of the run folder. */
  startLearner(resume?: boolean): Promise<FleetLearnerHandle>;
  /** The learner goes away as under SIGKILL: its node is destroyed, its learner aborted (no checkpoint, queued episodes not taken). */
  killLearner(): Promise<void>;
  /** The learner stops as on SIGINT: it takes what it has queued, checkpoints after it, and closes. */
  stopLearner(): Promise<void>;
  /** Sum of the completed episodes of every arm's actor (this process). */
  completed(): number;
  close(): Promise<void>;
}

/**
 * Builds the fleet on a new bus.
 * @param params the params-file content for every node (validated); actors get `fleet.role: actor`
 *   and relative joint-state/command topics on top
 * @param opts.arms the arms' namespaces; opts.makeLearner the learner client; opts.runDir the learner's run folder
 */
export async function createInProcessFleet(params: Record<string, unknown>, opts: {
  arms: string[];
  makeLearner: (config: NafConfig, runDir: string) => Promise<FleetLearnerClient>;
  runDir: string;
  logger: Logger;
  bridgeRateHz?: number;
  /** Steady clock of the actors' jitter meters, s (default: the bus clock). */
  steadyNow?: () => number;
}): Promise<InProcessFleet> {
  const bus = new InProcessBus();
  const config = parseConfig(params, 'in-process fleet');
  const task = buildTask(config);
  const rate = opts.bridgeRateHz ?? 100;
  const arms = new Map<string, FleetArm>();
  const closers = new Map<string, () => void>();
  let incarnation = 0;
  const actorParams = (p: Record<string, unknown>) => ({
    ...p,
    fleet: { ...(p.fleet as object ?? {}), role: 'actor' },
    ros: { ...(p.ros as object ?? {}), joint_states_topic: 'joint_states', effort_command_topic: 'effort_controller/commands' },
  });

  const fleet: InProcessFleet = {
    bus, config, task, runDir: opts.runDir, arms, learner: null,
    async addArm(ns) {
      const bridgeNode = bus.createNode('naf_sim_bridge', { namespace: ns });
      const node = bus.createNode('naf_trainer', { namespace: ns });
      const cfg = declareConfigParameters(node, parseConfig(actorParams(params), `actor ${ns}`));
      const arm = await MujocoArm.create(projectPath(cfg.urdf_path), { dt: 1 / rate, timestep: 0.002, jointNames: cfg.joints, meshSearchPath: cfg.mesh_search_path, jointDamping: simulatedRobotDamping(cfg) });
      const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, {
        publish_clock: false, rate_hz: rate, joint_states_topic: 'joint_states', effort_command_topic: 'effort_controller/commands',
      }), opts.logger);
      const armTask = buildTask(cfg);
      const root = new Rng(cfg.seed);
      // Each arm explores and draws its starts from its own streams (keys carry the namespace).
      const actor = buildActor(cfg, armTask, root.fork(`arm:${ns}`));
      const client = new RosLearnerClient(node, cfg, armTask, opts.logger);
      const dynamics: RigidBodyModel = await buildArmDynamics(cfg);
      const trainer = new NafTrainerNode({
        node, config: cfg, spec: buildSpec(cfg), task: armTask, actor, learner: client, rng: root.fork(`arm-episodes:${ns}`), logger: opts.logger,
        steadyNow: opts.steadyNow ?? (() => bus.now()), dynamics, tip: armTask.chain, extraStatus: client.statusHook(),
      });
      const a: FleetArm = { ns, config: cfg, bridge, trainer, actor, client, node };
      arms.set(ns, a);
      closers.set(ns, () => {
        bridge.shutdown();
        bridgeNode.destroy();
        arm.dispose();
        dynamics.dispose();
      });
      return a;
    },
    killArm(ns) {
      const a = arms.get(ns);
      if (!a) throw new Error(`no arm ${ns}`);
      a.node.destroy();
    },
    async startLearner(resume = false) {
      if (fleet.learner) throw new Error('the learner is running');
      const node = bus.createNode('naf_learner');
      const cfg = declareConfigParameters(node, parseConfig({ ...params, ros: { ...(params.ros as object ?? {}), resume: resume ? opts.runDir : '' } }, 'in-process learner'));
      const client = await opts.makeLearner(cfg, opts.runDir);
      incarnation = Math.max(Date.now(), incarnation + 1);
      const learner = new NafLearnerNode({ node, config: cfg, dims: task, client, logger: opts.logger, incarnation, runDir: opts.runDir });
      fleet.learner = { node, learner, client };
      return fleet.learner;
    },
    async killLearner() {
      const l = fleet.learner;
      if (!l) return;
      fleet.learner = null;
      l.learner.shutdown();
      l.node.destroy();
      await l.client.abort();
    },
    async stopLearner() {
      const l = fleet.learner;
      if (!l) return;
      fleet.learner = null;
      l.learner.shutdown();
      await Promise.race([l.client.close(), new Promise((r) => setTimeout(r, 3000))]);
      l.learner.stopped();
      l.node.destroy();
    },
    completed() {
      return [...arms.values()].reduce((n, a) => n + a.trainer.completed, 0);
    },
    async close() {
      for (const a of arms.values()) a.trainer.shutdown();
      await fleet.stopLearner();
      for (const c of closers.values()) c();
    },
  };
  for (const ns of opts.arms) await fleet.addArm(ns);
  return fleet;
}
