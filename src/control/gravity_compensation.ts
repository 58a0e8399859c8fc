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
 * Torques leave naf_ros through one place that uses this class, the safety supervisor
 * (src/safety/supervisor.ts): on the ROS node, and on the embedded arm, which trains behind the same
 * supervisor (`SupervisedArm`, built by `training/factory.ts` `buildArm`).
 */
import type { ArmDynamics } from '../env/types.js';

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
