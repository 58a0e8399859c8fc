/**
 * ROS 2 node `naf_sim_bridge`: the embedded MuJoCo arm behind the same topics Gazebo +
 * gz_ros2_control + joint_state_broadcaster + JointGroupEffortController expose (DESIGN Sec. 2),
 * so `naf_trainer` runs unchanged against it (`launch/mujoco.launch.py`, and in-process tests).
 *
 * - publishes `joint_states_topic` (sensor_msgs/msg/JointState: every joint of the simulated arm
 *   — its `joints`, the controlled ones, not a URDF's passive side-branch joints such as fingers —
 *   with position, velocity and the applied effort) once per physics/control period, sensor-data
 *   QoS like joint_state_broadcaster;
 * - subscribes `effort_command_topic` (std_msgs/msg/Float64MultiArray), data in the order of the
 *   `joints` parameter (the controller's `joints`); a message of another length is ignored with
 *   an error, as forward_command_controller does; arm joints not listed get zero torque;
 * - holds the last command (zero-order hold) — and, unlike ros2_control, which holds it forever,
 *   zeroes it when no command arrived for `command_timeout_ms` (0 = hold forever, exactly like
 *   ros2_control): a stopped trainer must not leave a simulated arm driven;
 * - steps MuJoCo by one period per timer tick: in real time under ROS, as fast as the clock
 *   advances on the in-process bus;
 * - `publish_clock`: publishes rosgraph_msgs/msg/Clock on `/clock` with the simulation time and
 *   stamps joint states with it, as Gazebo does (run the trainer with `use_sim_time: true`);
 *   when false, stamps use this node's clock (in-process bus time).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Arm } from '../../env/types.js';
import type { MujocoArm } from '../../env/mujoco_arm.js';
import type { Logger } from '../../util/logger.js';
import { header, toTimeMsg, type ClockMsg, type JointStateMsg, type RosNode, type RosPublisher, type RosTimer } from '../transport/transport.js';

export interface SimBridgeConfig {
  urdf_path: string;
  /** Folders holding ROS packages, searched first for the URDF's `package://` meshes (as the trainer's `mesh_search_path`). */
  mesh_search_path: string[];
  /**
   * The simulated arm's controlled joints, base to tip, and the order of the command array (the
   * effort controller's `joints`); empty = every movable joint of the URDF (then one serial chain).
   */
  joints: string[];
  /** Physics/control rate, Hz (one MuJoCo control period per tick). */
  rate_hz: number;
  /** MuJoCo integration step, s (the period 1/rate_hz must be a multiple of it). */
  timestep: number;
  joint_states_topic: string;
  effort_command_topic: string;
  /** Zero the held command after this long without commands, ms; 0 = hold forever. */
  command_timeout_ms: number;
  publish_clock: boolean;
  /** Initial joint positions, rad (arm joint order); empty = zeros. */
  initial_positions: number[];
  /** SCHED_FIFO priority of the bridge's threads (process/realtime.ts); 0 = normal scheduling. */
  rt_priority: number;
  /**
   * Damping the simulated robot's own loop injects, N·m·s/rad per joint of `joints`, added to the
   * URDF's at every physics step (naf_trainer's `safety.damping_injection: hardware`; the launch
   * files take it from `naf-ros arm --json`); empty = none.
   */
  joint_damping: number[];
}

export const SIM_BRIDGE_DEFAULTS: SimBridgeConfig = {
  urdf_path: 'urdf/reacher3.urdf', mesh_search_path: [], joints: [], rate_hz: 100, timestep: 0.002,
  joint_states_topic: '/joint_states', effort_command_topic: '/effort_controller/commands',
  command_timeout_ms: 500, publish_clock: true, initial_positions: [], rt_priority: 0, joint_damping: [],
};

/** Declares the bridge's parameters (all read-only) and returns their effective values. */
export function declareSimBridgeParameters(node: RosNode, defaults: Partial<SimBridgeConfig> = {}): SimBridgeConfig {
  const d = { ...SIM_BRIDGE_DEFAULTS, ...defaults };
  const ro = { readOnly: true };
  return {
    urdf_path: node.declareParameter('urdf_path', d.urdf_path, { type: 'string', description: 'URDF of the simulated arm (relative paths: package root).', ...ro }) as string,
    mesh_search_path: node.declareParameter('mesh_search_path', d.mesh_search_path, { type: 'string_array', description: 'Folders holding ROS packages, searched in order for the URDF\'s package://<pkg>/<file> collision meshes (<folder>/<pkg>/<file>) before AMENT_PREFIX_PATH and ROS_PACKAGE_PATH (relative paths: working directory).', ...ro }) as string[],
    joints: node.declareParameter('joints', d.joints, { type: 'string_array', description: 'Controlled joints of the simulated arm, base to tip, and the command order (the effort controller joints); empty = every movable joint of the URDF (one serial chain). Other joints (fingers) are simulated, passive and not published.', ...ro }) as string[],
    rate_hz: node.declareParameter('rate_hz', d.rate_hz, { type: 'double', description: 'Physics/control rate, Hz.', floatingPointRange: { from: 1, to: 2000, step: 0 }, ...ro }) as number,
    timestep: node.declareParameter('timestep', d.timestep, { type: 'double', description: 'MuJoCo integration step, s.', floatingPointRange: { from: 1e-5, to: 0.1, step: 0 }, ...ro }) as number,
    joint_states_topic: node.declareParameter('joint_states_topic', d.joint_states_topic, { type: 'string', description: 'sensor_msgs/msg/JointState output.', ...ro }) as string,
    effort_command_topic: node.declareParameter('effort_command_topic', d.effort_command_topic, { type: 'string', description: 'std_msgs/msg/Float64MultiArray input, N·m.', ...ro }) as string,
    command_timeout_ms: node.declareParameter('command_timeout_ms', d.command_timeout_ms, { type: 'double', description: 'Zero the held command after this long without commands, ms (0 = hold forever like ros2_control).', floatingPointRange: { from: 0, to: 1e6, step: 0 }, ...ro }) as number,
    publish_clock: node.declareParameter('publish_clock', d.publish_clock, { type: 'bool', description: 'Publish /clock with simulation time and stamp joint states with it.', ...ro }) as boolean,
    initial_positions: node.declareParameter('initial_positions', d.initial_positions, { type: 'double_array', description: 'Initial joint positions, rad (arm joint order); empty = zeros.', ...ro }) as number[],
    joint_damping: node.declareParameter('joint_damping', d.joint_damping, { type: 'double_array', description: 'Damping of the simulated robot\'s own loop, N·m·s/rad per joint of `joints`, added to the URDF\'s (naf_trainer safety.damping_injection: hardware); empty = none.', ...ro }) as number[],
    rt_priority: node.declareParameter('rt_priority', d.rt_priority, { type: 'integer', description: 'SCHED_FIFO priority of the bridge\'s threads (needs CAP_SYS_NICE); 0 = normal scheduling.', integerRange: { from: 0, to: 99, step: 1 }, ...ro }) as number,
  };
}

/**
 * The MuJoCo arm of the bridge's parameters: `urdf_path` (absolute, relative to the working
 * directory when that file exists, else to `packageRoot`), its controlled joints `joints` (empty =
 * every movable joint, which must then be one serial chain; the URDF's other joints, e.g. fingers,
 * are simulated, passive), collision meshes through `mesh_search_path`; and its collision line
 * (`describeCollision`) at `initial_positions` (zeros when empty).
 * @throws as `MujocoArm.create`; RangeError when `initial_positions` has the wrong length.
 */
export async function createBridgeArm(cfg: SimBridgeConfig, packageRoot: string): Promise<{ arm: MujocoArm; collision: string }> {
  const { MujocoArm } = await import('../../env/mujoco_arm.js');
  const { describeCollision } = await import('../../env/collision_report.js');
  const urdfPath = isAbsolute(cfg.urdf_path) || existsSync(cfg.urdf_path) ? cfg.urdf_path : resolve(packageRoot, cfg.urdf_path);
  if (cfg.joint_damping.length && cfg.joint_damping.length !== cfg.joints.length)
    throw new Error(`naf_sim_bridge: joint_damping has ${cfg.joint_damping.length} values, joints ${cfg.joints.length}: give one per joint of \`joints\``);
  const arm = await MujocoArm.create(urdfPath, {
    dt: 1 / cfg.rate_hz, timestep: cfg.timestep, jointNames: cfg.joints.length ? cfg.joints : undefined, meshSearchPath: cfg.mesh_search_path,
    jointDamping: cfg.joint_damping.length ? cfg.joint_damping : undefined,
  });
  try {
    const given = cfg.initial_positions.length > 0;
    const start = given ? cfg.initial_positions : new Array<number>(arm.spec.jointNames.length).fill(0);
    return { arm, collision: describeCollision(arm, start, given ? 'initial pose' : 'zero pose') };
  } catch (e) {
    arm.dispose();
    throw e;
  }
}

export class SimBridgeNode {
  /** Physics/control periods simulated. */
  steps = 0;
  /** Commands ignored (wrong length), and ticks run on a timed-out (zeroed) command. */
  rejectedCommands = 0;
  timedOutTicks = 0;
  private readonly order: number[];
  private command: Float64Array;
  private commandAt = -Infinity;
  private timedOut = true;
  /** Simulation time, s (steps * dt, no accumulated rounding). */
  get simTime(): number {
    return this.steps * this.arm.dt;
  }

  private readonly statePub: RosPublisher<JointStateMsg>;
  private readonly clockPub: RosPublisher<ClockMsg> | null;
  private readonly timer: RosTimer;
  private loggedLength = -1;

  /**
   * @throws Error naming the joint when `cfg.joints` lists a joint the arm lacks, or when
   *   `initial_positions` has the wrong length.
   */
  constructor(private readonly node: RosNode, readonly arm: Arm, readonly cfg: SimBridgeConfig, private readonly logger: Logger) {
    const armJoints = arm.spec.jointNames;
    const joints = cfg.joints.length ? cfg.joints : armJoints;
    this.order = joints.map((j) => {
      const i = armJoints.indexOf(j);
      if (i < 0) throw new Error(`naf_sim_bridge: controller joint "${j}" is not in the arm (${armJoints.join(', ')})`);
      return i;
    });
    const n = armJoints.length;
    if (cfg.initial_positions.length !== 0 && cfg.initial_positions.length !== n) {
      throw new Error(`naf_sim_bridge: initial_positions has ${cfg.initial_positions.length} values, the arm has ${n} joints`);
    }
    this.command = new Float64Array(n);
    arm.reset(cfg.initial_positions.length ? Float64Array.from(cfg.initial_positions) : new Float64Array(n), new Float64Array(n));
    this.statePub = node.createPublisher('sensor_msgs/msg/JointState', cfg.joint_states_topic, 'sensor_data');
    this.clockPub = cfg.publish_clock ? node.createPublisher('rosgraph_msgs/msg/Clock', '/clock', 'default') : null;
    node.createSubscription('std_msgs/msg/Float64MultiArray', cfg.effort_command_topic, 'default', (m) => this.onCommand(m.data));
    this.timer = node.createTimer(arm.dt, () => this.tick());
    logger.info(`naf_sim_bridge: ${n} joints [${armJoints.join(', ')}] at ${(1 / arm.dt).toFixed(1)} Hz; commands in order [${joints.join(', ')}] on ${node.resolveName(cfg.effort_command_topic)}; ` +
      `states on ${node.resolveName(cfg.joint_states_topic)}; command timeout ${cfg.command_timeout_ms || 'off'} ms; /clock ${cfg.publish_clock ? 'published' : 'not published'}`);
  }

  private onCommand(data: ArrayLike<number>): void {
    if (data.length !== this.order.length) {
      this.rejectedCommands++;
      if (this.loggedLength !== data.length) {
        this.logger.error(`naf_sim_bridge: command has ${data.length} values, expected ${this.order.length} (joints ${this.order.map((i) => this.arm.spec.jointNames[i]).join(', ')}); ignored`);
        this.loggedLength = data.length;
      }
      return;
    }
    this.command.fill(0);
    for (let k = 0; k < this.order.length; k++) this.command[this.order[k]] = data[k];
    this.commandAt = this.node.now();
    if (this.timedOut) this.logger.info('naf_sim_bridge: receiving effort commands');
    this.timedOut = false;
  }

  /** One period: apply the held command, step MuJoCo, publish the state (and the clock). */
  private tick(): void {
    const limit = this.cfg.command_timeout_ms / 1000;
    if (!this.timedOut && limit > 0 && this.node.now() - this.commandAt > limit) {
      this.timedOut = true;
      this.command.fill(0);
      this.logger.warn(`naf_sim_bridge: no effort command for ${this.cfg.command_timeout_ms} ms; applying zero torque`);
    }
    if (this.timedOut) this.timedOutTicks++;
    const js = this.arm.step(this.command);
    this.steps++;
    const stampTime = this.clockPub ? this.simTime : this.node.now();
    // State before clock: a use_sim_time subscriber whose timer fires on this /clock tick then
    // already has the state of this tick (one period less loop delay).
    this.statePub.publish({
      header: header(stampTime),
      name: [...js.name],
      position: Array.from(js.position),
      velocity: Array.from(js.velocity),
      effort: Array.from(js.effort),
    });
    this.clockPub?.publish({ clock: toTimeMsg(this.simTime) });
  }

  /** Stops stepping (the arm is left as is; the caller disposes it). */
  shutdown(): void {
    this.timer.cancel();
  }
}
