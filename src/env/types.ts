/**
 * The plant and task contracts. Everything that drives an arm (the embedded MuJoCo arm, the
 * ROS 2 node's joint-state/effort loop) and everything that learns from it meets here.
 *
 * Units: joint positions rad, velocities rad/s, efforts N·m, time s.
 */

/** One joint-state reading, in the shape of `sensor_msgs/msg/JointState`. */
export interface JointStateRecord {
  /** Joint names, in the order of the arrays below. */
  name: string[];
  /** [nJ] rad */
  position: Float64Array;
  /** [nJ] rad/s */
  velocity: Float64Array;
  /** [nJ] N·m, the torque applied over the last period (0 where unknown). */
  effort: Float64Array;
  /** Time stamp of the reading, s (simulation time for the embedded arm). */
  stamp: number;
}

/** Static description of a serial arm, read from its URDF. */
export interface ArmSpec {
  /** Actuated joint names, base to tip. */
  jointNames: string[];
  /** [nJ] N·m, URDF `<limit effort>`. */
  effortLimits: Float64Array;
  /** [nJ] rad/s, URDF `<limit velocity>`. */
  velocityLimits: Float64Array;
  /** [nJ] rad, URDF `<limit lower>` (-Infinity for continuous joints). */
  lowerLimits: Float64Array;
  /** [nJ] rad, URDF `<limit upper>` (+Infinity for continuous joints). */
  upperLimits: Float64Array;
}

/**
 * Rigid-body quantities of an arm at a configuration q [nJ] (rad, or m for prismatic joints), for
 * the joints of `spec` in its order. Implemented with MuJoCo on a model loaded from the arm's URDF
 * (`src/env/rigid_body.ts`), on the embedded arm and on a real one alike.
 */
export interface ArmDynamics {
  readonly spec: ArmSpec;
  /** [nJ] N·m·s/rad (N·s/m), URDF `<dynamics damping>`. */
  readonly damping: Float64Array;
  /** g(q) [nJ] N·m (N): the joint torques that hold the arm still at q against gravity. */
  gravity(q: ArrayLike<number>): Float64Array;
  /** M(q) [nJ * nJ] row-major, kg·m² (kg for prismatic joints): the joint-space inertia matrix. */
  massMatrix(q: ArrayLike<number>): Float64Array;
}

/**
 * A torque-controlled arm advanced one control period at a time. Implemented by the embedded
 * MuJoCo arm (`src/env/mujoco_arm.ts`); the ROS node drives a real arm through topics instead.
 */
export interface Arm {
  readonly spec: ArmSpec;
  /** Control period, s. */
  readonly dt: number;
  /** Sets joint positions [nJ] rad and velocities [nJ] rad/s, zero torque; returns the reading. */
  reset(q: Float64Array, qd: Float64Array): JointStateRecord;
  /**
   * Applies torques u [nJ] N·m (clamped to the effort limits; non-finite entries become 0)
   * for one control period and returns the reading at its end.
   */
  step(u: Float64Array): JointStateRecord;
  /**
   * [nJ] N·m: the controller's torque the last `step` applied — u after the arm's clamp and, behind
   * a safety supervisor, after its rules, without the compensation terms it adds (g(q), −D q̇).
   * A transition records this as its action. Absent: the u given to `step`.
   */
  readonly lastControl?: Float64Array;
  /** Releases native resources. */
  dispose(): void;
}

/**
 * A task on an arm: observation, the known reward r(x, u) and its derivatives (the agent, the
 * imagination rollouts and iLQG all use them), initial states and targets. The reach task
 * (`src/env/reach_task.ts`, any serial chain) is one implementation; others (peg insertion) may follow.
 *
 * The observation x ([dX]) is the learning state; the reward depends on x and u only, so the
 * reward of an imagined transition is computable from the imagined x.
 */
export interface Task {
  readonly dX: number;
  readonly dU: number;
  /** Episode length in control steps (fixed: Sec. 5.3 needs fixed-length episodes). */
  readonly T: number;
  /** [dU] N·m, symmetric action bound used for mu = u_max * tanh(.). */
  readonly uMax: Float64Array;
  /** Observation x [dX] from a joint reading, for the current target. */
  observe(js: JointStateRecord): Float64Array;
  /** Known reward r(x, u) (per step, dimensionless; see the task's docstring). */
  reward(x: Float64Array, u: Float64Array): number;
  /**
   * Second-order expansion of r at (x, u): gradients and Hessians, for iLQG.
   * rx [dX], ru [dU], rxx [dX*dX] row-major, ruu [dU*dU], rux [dU*dX].
   */
  rewardExpansion(x: Float64Array, u: Float64Array): RewardExpansion;
  /**
   * Samples a new episode: initial joint state and target (random-target mode draws a target;
   * `targets: 'random'` draws one whatever the mode, for the held-out test on random targets).
   */
  sampleEpisodeStart(rng: import('../util/rng.js').Rng, targets?: 'task' | 'random'): EpisodeStart;
  /** Sets the current target [3] (m, URDF root frame). */
  setTarget(target: Float64Array): void;
  /** Tip distance to the target (m) for an observation x. */
  distance(x: Float64Array): number;
  /** Joint positions [nJ] rad and velocities [nJ] rad/s encoded in x (for `true` dynamics). */
  jointsFromObservation(x: Float64Array): { q: Float64Array; qd: Float64Array };
}

export interface EpisodeStart {
  /** [nJ] rad (m) */
  q: Float64Array;
  /** [nJ] rad/s (m/s) */
  qd: Float64Array;
  /** [3] m, URDF root frame */
  target: Float64Array;
}

export interface RewardExpansion {
  r: number;
  rx: Float64Array;
  ru: Float64Array;
  rxx: Float64Array;
  ruu: Float64Array;
  rux: Float64Array;
}
