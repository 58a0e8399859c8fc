/**
 * Gravity compensation (DESIGN Sec. 4, safety layer): the torque g(q) that holds an arm still
 * against its own weight, added to every torque the arm receives from naf_ros — policy, iLQG and
 * homing alike — so that every controller acts on a weightless arm.
 *
 * Modes (`safety.gravity_compensation`):
 *  * `model`: naf_ros adds g(q), computed by MuJoCo from the URDF's inertials (`ArmDynamics`,
 *    src/env/rigid_body.ts), on the embedded arm and on a real one alike;
 *  * `hardware`: the robot's driver adds it (Franka's torque interface does): naf_ros adds nothing.
 *    The embedded arm stands in for such a robot, so there it is added as for `model`;
 *  * `none`: nobody adds it; the learner must hold the arm itself (right for arms that gravity
 *    does not load, such as the planar reacher3 turning about the vertical).
 *
 * Effort budget: the published total τ = u + g(q) is what the clamp bounds (URDF effort limit, and
 * the safety supervisor's `max_effort` on the node). The policy's own bound u_max (`ReachTask.uMax`,
 * `task.action_effort_fraction` × effort) should leave room for g: when |u_max| + max |g(q)| over
 * the working poses stays within the effort limit, the clamp never cuts the policy's action.
 *
 * The two places torques leave naf_ros both use this class: the safety supervisor of the ROS node
 * (src/ros/supervisor.ts) and `GravityCompensatedArm`, through which the embedded training run
 * (and the `true` dynamics model) step the MuJoCo arm.
 */
import type { Arm, ArmDynamics, JointStateRecord } from '../env/types.js';

export type GravityCompensationMode = 'none' | 'model' | 'hardware';
export const GRAVITY_COMPENSATION_MODES: readonly GravityCompensationMode[] = ['none', 'model', 'hardware'];

export class GravityCompensation {
  private readonly n: number;

  /**
   * @param mode who compensates (see the module docstring)
   * @param dynamics the arm's rigid-body model; required for `model`
   * @param nJ number of joints (for the zero torque of the other modes)
   * @throws RangeError for an unknown mode, or `model` without `dynamics`.
   */
  constructor(readonly mode: GravityCompensationMode, private readonly dynamics: Pick<ArmDynamics, 'gravity'> | null, nJ: number) {
    if (!GRAVITY_COMPENSATION_MODES.includes(mode)) throw new RangeError(`GravityCompensation: mode must be one of ${GRAVITY_COMPENSATION_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    if (mode === 'model' && !dynamics) throw new RangeError('GravityCompensation: mode "model" needs the arm\'s rigid-body model');
    this.n = nJ;
  }

  /** True when naf_ros adds g(q) to its torques. */
  get active(): boolean {
    return this.mode === 'model';
  }

  /**
   * The torque naf_ros adds at joint positions q [nJ] rad: g(q) [nJ] N·m for `model`, zeros otherwise.
   * @throws RangeError from the model on a wrong length or non-finite q.
   */
  torque(q: ArrayLike<number>): Float64Array {
    return this.active ? this.dynamics!.gravity(q) : new Float64Array(this.n);
  }
}

/**
 * An `Arm` whose every command u gets `compensation.torque(q)` added at the state q of the start of
 * the control period (zero-order hold, as a ros2_control effort interface holds the last command).
 * The inner arm clamps the total to its effort limits. Readings report the total applied torque.
 */
export class GravityCompensatedArm implements Arm {
  private q: Float64Array;

  /**
   * @param inner the arm (owned: disposed with this one)
   * @param compensation what to add
   * @param owned resources released with the arm (the rigid-body model behind `compensation`)
   */
  constructor(readonly inner: Arm, readonly compensation: GravityCompensation, private readonly owned?: { dispose(): void }) {
    this.q = new Float64Array(inner.spec.jointNames.length);
  }

  get spec() {
    return this.inner.spec;
  }

  get dt() {
    return this.inner.dt;
  }

  reset(q: Float64Array, qd: Float64Array): JointStateRecord {
    const js = this.inner.reset(q, qd);
    this.q = Float64Array.from(js.position);
    return js;
  }

  /** Applies u + g(q) [nJ] N·m (non-finite entries of u become 0, as the inner arm does). */
  step(u: Float64Array): JointStateRecord {
    const g = this.compensation.torque(this.q);
    const total = Float64Array.from(u, (v, i) => (Number.isFinite(v) ? v : 0) + g[i]);
    const js = this.inner.step(total);
    this.q = Float64Array.from(js.position);
    return js;
  }

  dispose(): void {
    this.inner.dispose();
    this.owned?.dispose();
  }
}
