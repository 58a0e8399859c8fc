/**
 * `naf-ros run --checkpoint <run or file>`: a trained policy on the embedded MuJoCo arm, through
 * exactly what runs on a robot in deploy mode — the `naf_trainer` node with `mode: deploy`
 * (homing, safety supervisor, watchdog, e-stop; greedy policy, no learning, no exploration, no
 * iLQG) and `naf_sim_bridge` (the MuJoCo arm behind the ros2_control topics), both on the
 * in-process bus, whose clock is advanced as fast as the computer allows (simulated time).
 */
import type { NafConfig } from '../../config/schema.js';
import { parseConfig } from '../../config/load.js';
import { MujocoArm } from '../../env/mujoco_arm.js';
import { describeCollision } from '../../env/collision_report.js';
import { SUCCESS_DISTANCE } from '../../report/run_folder.js';
import { loadCheckpointPolicy } from '../../training/eval_command.js';
import { buildArmDynamics, buildSpec, buildTask, projectPath, simulatedRobotDamping } from '../../training/factory.js';
import type { EpisodeEnd } from '../../training/learner_types.js';
import type { Logger } from '../../util/logger.js';
import { deployStarts, NoLearner } from './deploy.js';
import { GreedyActor } from '../trainer/greedy_actor.js';
import { InProcessBus } from '../transport/inprocess_transport.js';
import { NafTrainerNode } from '../trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../trainer/parameters.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../sim/sim_bridge_node.js';
import type { InterventionKind } from '../../safety/supervisor.js';
import { configRecorder } from '../../viz/record.js';
import type { RolloutRecorder, Rollout } from '../../viz/rollout.js';

export interface DeployEpisode {
  episode: number;
  return: number;
  /** Fingertip-to-target distance when the episode ended, m. */
  finalDistance: number;
  aborted: boolean;
}

export interface DeployOutcome {
  checkpoint: string;
  episodes: DeployEpisode[];
  /** Node state at the end: DONE, or PAUSED/ESTOP when it stopped the arm. */
  state: string;
  interventions: Record<InterventionKind, number>;
  /** Simulated time, s. */
  simSeconds: number;
  /**
   * With `record`: the joint states the sim bridge published, homing included, one episode from the
   * end of the previous one to the end of its own (`src/viz/rollout.ts`).
   */
  rollout?: Rollout;
}

/**
 * Runs `episodes` deploy-mode episodes of the policy of `arg` (a run folder or a checkpoint file)
 * on the embedded arm. Episodes start from the held-out test starts (`deployStarts`: the stream of
 * `training.test_seed`, or of `seed` when given), as the run's test.json and `naf-ros eval`.
 * With `record`, the joint states the bridge publishes are recorded (`DeployOutcome.rollout`).
 * @throws CheckpointError when `arg` is no readable checkpoint.
 */
export async function runEmbeddedDeploy(arg: string, opts: {
  episodes: number; seed?: number; logger: Logger; record?: boolean;
  onEpisode?: (e: DeployEpisode) => void; shouldStop?: () => boolean;
  /** Gets the arm's collision line (`describeCollision`) once the arm is built (default: logged). */
  onArm?: (line: string) => void;
}): Promise<DeployOutcome> {
  const policy = await loadCheckpointPolicy(arg);
  const config: NafConfig = parseConfig({
    ...policy.config, mode: 'deploy', training: { ...policy.config.training, test_seed: opts.seed ?? policy.config.training.test_seed },
    deploy: { checkpoint: policy.path, episodes: opts.episodes },
  }, 'naf-ros run');
  const bus = new InProcessBus();
  const rate = 2 * config.control_rate_hz; // joint states twice per control period, as a ros2_control loop would at least
  // The configured joints: a URDF's other joints (a gripper's fingers) are simulated, passive.
  const arm = await MujocoArm.create(projectPath(config.urdf_path), { dt: 1 / rate, timestep: 0.002, jointNames: config.joints, meshSearchPath: config.mesh_search_path, jointDamping: simulatedRobotDamping(config) });
  (opts.onArm ?? ((line) => opts.logger.info(line)))(describeCollision(arm, config.task.home_pose));
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, {
    publish_clock: false, rate_hz: rate, joints: config.joints, initial_positions: config.task.home_pose,
  }), opts.logger);
  const node = bus.createNode('naf_trainer');
  const nodeConfig = declareConfigParameters(node, config);
  const task = buildTask(nodeConfig);
  const episodes: DeployEpisode[] = [];
  let recorder = null as RolloutRecorder | null; // created at the first joint state (its joint names)
  if (opts.record) {
    bus.createNode('naf_recorder').createSubscription('sensor_msgs/msg/JointState', config.ros.joint_states_topic, 'sensor_data', (m) => {
      recorder ??= configRecorder(nodeConfig, task, `naf-ros run: deploy mode on the embedded arm, ${policy.path}`, m.name);
      recorder.sample(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, { position: m.position, velocity: m.velocity, effort: m.effort });
    });
  }
  const learner = new NoLearner(policy.snapshot);
  let trainer: NafTrainerNode | null = null;
  const endEpisode = learner.endEpisode.bind(learner);
  learner.endEpisode = (info: EpisodeEnd) => {
    // Called by the node when the episode ends, before it homes for the next one.
    endEpisode(info);
    const js = trainer!.input.latest;
    const e = { episode: episodes.length + 1, return: info.return, finalDistance: js ? task.distance(task.observe(js)) : NaN, aborted: info.aborted };
    episodes.push(e);
    recorder?.endEpisode({ return: e.return, finalDistance: e.finalDistance, aborted: e.aborted });
    opts.onEpisode?.(e);
  };
  const dynamics = await buildArmDynamics(nodeConfig);
  trainer = new NafTrainerNode({
    node, config: nodeConfig, spec: buildSpec(nodeConfig), task, learner, logger: opts.logger,
    actor: new GreedyActor(policy.snapshot, task.uMax, nodeConfig.model_based.on_policy_fraction),
    rng: deployStarts(nodeConfig), steadyNow: () => bus.now(),
    dynamics, tip: task.chain,
  });
  try {
    // Bounded: every episode may take its horizon plus a homing timeout.
    const limit = opts.episodes * (nodeConfig.task.horizon / nodeConfig.control_rate_hz + nodeConfig.safety.homing_timeout_s + 1);
    while (trainer.state !== 'DONE' && trainer.state !== 'PAUSED' && trainer.state !== 'ESTOP' && bus.now() < limit && !opts.shouldStop?.()) {
      bus.advance(0.1);
      await new Promise((r) => setImmediate(r)); // serve Ctrl-C
    }
    recorder?.discardOpen();
    return {
      checkpoint: policy.path, episodes, state: trainer.state, interventions: { ...trainer.supervisor.counts }, simSeconds: bus.now(),
      ...(opts.record ? { rollout: recorder?.rollout() } : {}),
    };
  } finally {
    trainer.shutdown();
    bridge.shutdown();
    arm.dispose();
    dynamics.dispose();
  }
}

/** Episodes of a deploy run that ended within the success distance (2 cm). */
export const deploySuccesses = (eps: DeployEpisode[]) => eps.filter((e) => !e.aborted && e.finalDistance < SUCCESS_DISTANCE).length;
