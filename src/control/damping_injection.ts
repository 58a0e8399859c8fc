/**
 * Damping injection (DESIGN Sec. 4, "the control law, not the URDF, makes the arm learnable"):
 * the joint-space damping term of an impedance controller with zero stiffness,
 *
 *   u_total = u_learned + g(q) − D q̇,
 *
 * applied around every controller naf_ros runs (NAF policy, iLQG, homing), the same way in
 * simulation and on the robot. A torque-controlled arm as its maker publishes it is lightly damped
 * (UR: 0 in the ROS description, Franka 0.003, iiwa 0.5 N·m·s/rad): under the policy's torques it
 * accelerates for many control periods, its one-step dynamics are stiff and strongly coupled, and
 * the time-varying linear fit of Sec. 5.3 and the quadratic advantage of NAF both struggle. With D
 * the velocity of each joint settles within a few control periods to roughly u / D: the plant the
 * learner sees becomes well conditioned and its speed bounded.
 *
 * **Where D runs** (`safety.damping_injection`). A damping term is a velocity feedback; sampled at
 * the policy rate with a zero-order hold, joint j's velocity obeys v ← (1 − D_j dt / m_j) v, stable
 * only while D dt / m stays below 2 and free of sign flips only below 1. Light wrist joints
 * (UR5e wrist 3: m ≈ 1.3e-4 kg·m²) need D far above that bound at 20 ms, so the term belongs in a
 * fast loop:
 *  * `hardware` (default): the robot applies −D q̇ in its own kHz loop — a driver's joint-impedance
 *    mode with zero stiffness (Franka `joint_impedance`, KUKA FRI joint impedance control), or a
 *    ros2_control controller at the controller_manager's rate. In simulation the simulator plays that
 *    loop: the embedded MuJoCo arm and the MuJoCo bridge add D to the joints' damping (integrated
 *    implicitly at every physics step), and `launch/gazebo.launch.py` adds it to the joints Gazebo
 *    simulates. naf_ros never adds it to the command.
 *  * `node`: naf_ros adds −D q̇ to every command at `control_rate_hz` (the safety supervisor's rule
 *    7), refused at start unless dt·λ_max(M(q)⁻¹ D) ≤ `NODE_DAMPING_MAX` over the working poses
 *    (`nodeDampingCheck`).
 *  * `none`: no injection; the URDF's own damping is all the arm has.
 *
 * **How D is derived** when `safety.joint_damping` is empty: per joint,
 *   B_j = u_max_j / (κ v_j),   D_j = max(0, B_j − b_j),
 * with u_max_j the policy's torque bound (`task.action_effort_fraction` × effort), v_j the joint's
 * speed limit (min of the URDF `<limit velocity>` and `safety.velocity_limit`), κ =
 * `safety.damping_speed_fraction` (default 0.4) and b_j the URDF's own damping. The total damping
 * B then moves a joint at most κ v_j at the policy's full torque (steady state u_max / B), so:
 * (a) the policy cannot drive a joint to the speed limit the supervisor enforces (a 1/κ = 2.5×
 * margin for coupling and transients): training and deployment meet the same limits; (b) the
 * action is effectively a bounded joint-speed command, nearly linear in u once the velocity
 * settles (time constant m_j / B_j), which is what the per-step linear-Gaussian fit and the
 * quadratic A(x, u) model well; (c) nothing is tuned per arm: the rule uses the arm's own torque
 * and speed limits. κ = 0.4 reproduces the values hand-tuned for the shipped arms
 * (reacher3: 8 rad/s of 20; UR5e: 1.2 rad/s of π).
 */
import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';

export type DampingInjectionMode = 'none' | 'node' | 'hardware';
export const DAMPING_INJECTION_MODES: readonly DampingInjectionMode[] = ['none', 'node', 'hardware'];

/** Largest dt·λ_max(M⁻¹ D) the `node` mode accepts (sampled velocity feedback well inside its bound of 1). */
export const NODE_DAMPING_MAX = 0.5;

/** The damping an arm runs with, per joint (`joints` order), and where it came from. */
export interface DampingPlan {
  mode: DampingInjectionMode;
  /** [nJ] N·m·s/rad (N·s/m): the injected damping D (0 everywhere in mode `none`). */
  D: Float64Array;
  /** [nJ] N·m·s/rad: the URDF's own `<dynamics damping>` b. */
  urdf: Float64Array;
  /** True when D was derived (`safety.joint_damping` empty), false when given. */
  derived: boolean;
  /** κ of the derivation. */
  speedFraction: number;
  /** [nJ] rad/s (m/s): the speed limits v the derivation used. */
  speedLimit: Float64Array;
}

/**
 * D from the rule of the module docstring: D_j = max(0, u_max_j / (κ v_j) − b_j).
 * @param uMax [nJ] N·m policy torque bound
 * @param speedLimit [nJ] rad/s joint speed limits
 * @param urdfDamping [nJ] N·m·s/rad the arm's own damping b
 * @param speedFraction κ in (0, 1]
 * @returns [nJ] N·m·s/rad
 * @throws RangeError on mismatched lengths, a non-positive or non-finite u_max or speed limit, or κ
 *   outside (0, 1].
 */
export function derivedDamping(uMax: ArrayLike<number>, speedLimit: ArrayLike<number>, urdfDamping: ArrayLike<number>, speedFraction: number): Float64Array {
  const n = uMax.length;
  if (speedLimit.length !== n || urdfDamping.length !== n)
    throw new RangeError(`derivedDamping: uMax, speedLimit and urdfDamping must have the same length, got ${n}, ${speedLimit.length}, ${urdfDamping.length}`);
  if (!(speedFraction > 0 && speedFraction <= 1)) throw new RangeError(`derivedDamping: the speed fraction must be in (0, 1], got ${speedFraction}`);
  return Float64Array.from({ length: n }, (_, j) => {
    if (!(uMax[j] > 0 && Number.isFinite(uMax[j]))) throw new RangeError(`derivedDamping: uMax[${j}] must be a positive finite torque, got ${uMax[j]}`);
    if (!(speedLimit[j] > 0 && Number.isFinite(speedLimit[j]))) throw new RangeError(`derivedDamping: speedLimit[${j}] must be a positive finite speed, got ${speedLimit[j]}`);
    return Math.max(0, uMax[j] / (speedFraction * speedLimit[j]) - Math.max(0, urdfDamping[j]));
  });
}

/**
 * The damping plan of an arm.
 * @param opts.mode where D runs
 * @param opts.given `safety.joint_damping`: [] to derive, else [nJ] N·m·s/rad ≥ 0
 * @param opts.uMax [nJ] N·m, opts.speedLimit [nJ] rad/s, opts.urdfDamping [nJ] N·m·s/rad,
 *   opts.speedFraction κ (see `derivedDamping`)
 * @throws RangeError naming `safety.joint_damping` when it has the wrong length or a negative or
 *   non-finite entry; as `derivedDamping`.
 */
export function dampingPlan(opts: {
  mode: DampingInjectionMode; given: readonly number[]; uMax: ArrayLike<number>; speedLimit: ArrayLike<number>;
  urdfDamping: ArrayLike<number>; speedFraction: number;
}): DampingPlan {
  const n = opts.uMax.length;
  if (!DAMPING_INJECTION_MODES.includes(opts.mode)) throw new RangeError(`safety.damping_injection: must be one of ${DAMPING_INJECTION_MODES.join(', ')}; got ${JSON.stringify(opts.mode)}`);
  const derived = opts.given.length === 0;
  if (!derived && (opts.given.length !== n || !opts.given.every((d) => Number.isFinite(d) && d >= 0)))
    throw new RangeError(`safety.joint_damping: must be [] (derived) or ${n} finite values >= 0 N·m·s/rad, one per joint; got ${JSON.stringify(opts.given)}`);
  const D = opts.mode === 'none' ? new Float64Array(n) : derived
    ? derivedDamping(opts.uMax, opts.speedLimit, opts.urdfDamping, opts.speedFraction)
    : Float64Array.from(opts.given);
  return {
    mode: opts.mode, D, urdf: Float64Array.from(opts.urdfDamping), derived, speedFraction: opts.speedFraction,
    speedLimit: Float64Array.from(opts.speedLimit),
  };
}

/** [nJ] N·m·s/rad: the damping the joints move with, b + D. */
export function totalDamping(plan: DampingPlan): Float64Array {
  return Float64Array.from(plan.D, (d, j) => d + Math.max(0, plan.urdf[j]));
}

export interface NodeDampingCheck {
  /** max over the poses of dt·λ_max(M(q)⁻¹ D): the sampled loop's worst contraction rate. */
  worst: number;
  /** [nJ] max over the poses of dt·D_j·[M(q)⁻¹]_jj, per joint. */
  perJoint: Float64Array;
  /** [nJ] N·m·s/rad: the largest D_j this rate allows alone, NODE_DAMPING_MAX / (dt·max [M⁻¹]_jj). */
  maxStable: Float64Array;
  ok: boolean;
}

/**
 * The sampled-data check of `node` mode: −D q̇ held over dt acts on the joint velocities as
 * v ← (I − dt M⁻¹ D) v (the other dynamics aside), whose rates are the eigenvalues of
 * dt·D^½ M⁻¹ D^½ (similar to dt M⁻¹ D, real and ≥ 0). Accepted when the largest, over `poses`,
 * is at most `NODE_DAMPING_MAX`.
 * @param D [nJ] N·m·s/rad
 * @param massMatrix M(q) [nJ * nJ] row-major, kg·m² (`ArmDynamics.massMatrix`)
 * @param poses joint configurations [nJ] rad to check (the home pose and the working range)
 * @param dt control period, s
 * @throws RangeError on a non-positive dt, no pose, or an M that is not positive definite.
 */
export function nodeDampingCheck(D: Float64Array, massMatrix: (q: ArrayLike<number>) => Float64Array, poses: readonly ArrayLike<number>[], dt: number): NodeDampingCheck {
  const n = D.length;
  if (!(dt > 0)) throw new RangeError(`nodeDampingCheck: dt must be > 0 s, got ${dt}`);
  if (poses.length === 0) throw new RangeError('nodeDampingCheck: no pose to check');
  const sqrtD = Float64Array.from(D, (d) => Math.sqrt(Math.max(0, d)));
  let worst = 0;
  const perJoint = new Float64Array(n), invDiag = new Float64Array(n);
  for (const q of poses) {
    const M = massMatrix(q);
    const Mi = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(M.subarray(i * n, (i + 1) * n)))));
    for (let j = 0; j < n; j++) {
      const mjj = Mi.get(j, j);
      if (!(mjj > 0 && Number.isFinite(mjj))) throw new RangeError(`nodeDampingCheck: M(q) is not positive definite at q = [${Array.from(q)}]`);
      invDiag[j] = Math.max(invDiag[j], mjj);
      perJoint[j] = Math.max(perJoint[j], dt * D[j] * mjj);
    }
    const S = new Matrix(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => dt * sqrtD[i] * Mi.get(i, j) * sqrtD[j])));
    const eig = new EigenvalueDecomposition(S.add(S.transpose()).div(2), { assumeSymmetric: true });
    worst = Math.max(worst, ...eig.realEigenvalues);
  }
  const maxStable = Float64Array.from(invDiag, (m) => NODE_DAMPING_MAX / (dt * m));
  return { worst, perJoint, maxStable, ok: worst <= NODE_DAMPING_MAX };
}

/**
 * The damping term of the control law at run time: −D q̇ where naf_ros applies it (`node`), zero
 * where the robot's loop does (`hardware`) or nobody does (`none`).
 */
export class DampingInjection {
  readonly plan: DampingPlan;

  constructor(plan: DampingPlan) {
    this.plan = plan;
  }

  get mode(): DampingInjectionMode {
    return this.plan.mode;
  }

  /** True when naf_ros adds the term to its commands. */
  get active(): boolean {
    return this.plan.mode === 'node';
  }

  /**
   * The torque naf_ros adds at joint velocities qd [nJ] rad/s: −D qd [nJ] N·m in `node` mode,
   * zeros otherwise (non-finite velocities give 0).
   * @throws RangeError on a wrong length.
   */
  torque(qd: ArrayLike<number>): Float64Array {
    const D = this.plan.D;
    if (qd.length !== D.length) throw new RangeError(`DampingInjection: qd must have ${D.length} entries, got ${qd.length}`);
    if (!this.active) return new Float64Array(D.length);
    return Float64Array.from(D, (d, j) => (Number.isFinite(qd[j]) ? -d * qd[j] : 0));
  }

  /**
   * [nJ] N·m·s/rad the simulated robot's joints get on top of the URDF's: D in `hardware` mode (the
   * simulator plays the robot's fast loop), zeros otherwise.
   */
  simulatorDamping(): Float64Array {
    return this.plan.mode === 'hardware' ? Float64Array.from(this.plan.D) : new Float64Array(this.plan.D.length);
  }
}
