/**
 * The embedded simulator: a URDF arm simulated by MuJoCo 3.x (the official WebAssembly build,
 * npm `mujoco-js`), torque-controlled at a fixed control period. It stands in for Gazebo +
 * ros2_control during training and tests here (DESIGN.md Sec. 2), and is the `true` dynamics model
 * of the paper's best-case comparison (Sec. 6.3, Fig. 2a).
 *
 * MuJoCo's URDF importer reads links, joints, inertials, limits, damping and collision geometry
 * and ignores the `<ros2_control>` and `<gazebo>` elements (checked by the tests, which load the
 * shipped URDFs as they are); `mujoco_urdf.ts` prepares the text (keeps jointless links, loads the
 * collision meshes it finds, reported in `collision`). Gravity acts (MuJoCo's default, -9.81 m/s²
 * along z of the root); gravity compensation, when configured, is added by the caller
 * (`control/gravity_compensation.ts`).
 *
 * The URDF has no MuJoCo actuators: joint torques go into `qfrc_applied` (generalized forces),
 * clamped to the URDF effort limits, held constant (zero-order hold) over the control period, which
 * is integrated in `dt / timestep` MuJoCo steps (Euler, implicit in the joint damping).
 *
 * `jointDamping` adds viscous damping to the configured joints on top of the URDF's: the damping a
 * robot's own fast loop injects (`safety.damping_injection: hardware`, src/control/
 * damping_injection.ts), which this simulator then plays at every physics step (MuJoCo
 * `dof_damping`, integrated implicitly, so any value is stable).
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import { armSpecFromUrdf, type UrdfModel } from './urdf.js';
import { jointAddresses, loadMujocoModel, mujocoMessages } from './mujoco_model.js';
import { contactPairs, type CollisionReport } from './collision_report.js';
import type { Arm, ArmSpec, JointStateRecord } from './types.js';

/** MuJoCo integration step of the embedded arm, s (the control period must be a whole multiple of it). */
export const PHYSICS_TIMESTEP_S = 0.002;

export interface MujocoArmOptions {
  /** Control period, s (default 0.02). Must be a positive integer multiple of `timestep`. */
  dt?: number;
  /** Physics time step, s (default 0.002). */
  timestep?: number;
  /**
   * Actuated joints, base to tip (default: every actuated joint of the URDF, which must then be one
   * serial chain: give them for a URDF with side branches such as fingers). Other joints of the
   * URDF are simulated, unactuated.
   */
  jointNames?: readonly string[];
  /** [nJ] N·m·s/rad (N·s/m) added to the URDF damping of `jointNames` (default none). */
  jointDamping?: ArrayLike<number>;
  /** Folders holding ROS packages, searched first for `package://` meshes (`mesh_search_path`). */
  meshSearchPath?: readonly string[];
}

/** A URDF arm in MuJoCo. Implements the `Arm` contract (src/env/types.ts). */
export class MujocoArm implements Arm {
  readonly spec: ArmSpec;
  readonly dt: number;
  /** Physics step, s. */
  readonly timestep: number;
  /** The parsed URDF the arm was built from. */
  readonly urdf: UrdfModel;
  /** The collision geometry simulated, and the mesh elements left out (`urdfForMujoco`). */
  collision: CollisionReport = { links: [] };
  private readonly nSub: number;
  private readonly qposAdr: Int32Array;
  private readonly dofAdr: Int32Array;
  private readonly applied: Float64Array;
  private model: MjModel | null;
  private data: MjData | null;

  private constructor(
    private readonly mj: MainModule,
    model: MjModel,
    urdf: UrdfModel,
    spec: ArmSpec,
    dt: number,
    timestep: number,
    jointDamping?: ArrayLike<number>,
  ) {
    this.model = model;
    this.urdf = urdf;
    this.spec = spec;
    this.dt = dt;
    this.timestep = timestep;
    this.nSub = Math.round(dt / timestep);
    model.opt.timestep = timestep;
    const nJ = spec.jointNames.length;
    const adr = jointAddresses(mj, model, spec.jointNames, 'MujocoArm');
    this.qposAdr = adr.qpos;
    this.dofAdr = adr.dof;
    if (jointDamping) {
      if (jointDamping.length !== nJ || !Array.from(jointDamping).every((d) => Number.isFinite(d) && d >= 0))
        throw new RangeError(`MujocoArm: jointDamping must be ${nJ} finite values >= 0 N·m·s/rad, got [${Array.from(jointDamping)}]`);
      const damping = model.dof_damping as Float64Array;
      this.dofAdr.forEach((a, i) => (damping[a] += jointDamping[i]));
    }
    this.applied = new Float64Array(nJ);
    this.data = new mj.MjData(model);
    mj.mj_forward(model, this.data);
  }

  /**
   * Loads a URDF file into MuJoCo.
   * @param urdfPath path of the URDF on disk (collision meshes: see `collision`)
   * @param opts dt (s, default 0.02), timestep (s, default 0.002), jointNames (default: the chain),
   *   jointDamping [nJ] N·m·s/rad added to the URDF's (default none), meshSearchPath (default none)
   * @throws UrdfError for an invalid URDF (checked by `parseUrdf` first, with a clear message);
   *   RangeError when dt/timestep are not positive, dt is not an integer multiple of timestep, or
   *   jointDamping has the wrong length or a negative entry;
   *   Error when MuJoCo rejects the model (with MuJoCo's own message) or lacks a joint.
   */
  static async create(urdfPath: string, opts: MujocoArmOptions = {}): Promise<MujocoArm> {
    const dt = opts.dt ?? 0.02;
    const timestep = opts.timestep ?? PHYSICS_TIMESTEP_S;
    if (!(Number.isFinite(dt) && dt > 0)) throw new RangeError(`MujocoArm: dt must be a positive number of s, got ${dt}`);
    if (!(Number.isFinite(timestep) && timestep > 0))
      throw new RangeError(`MujocoArm: timestep must be a positive number of s, got ${timestep}`);
    const n = Math.round(dt / timestep);
    if (n < 1 || Math.abs(n * timestep - dt) > 1e-9 * dt)
      throw new RangeError(`MujocoArm: dt (${dt} s) must be an integer multiple of timestep (${timestep} s)`);
    const { mj, model, urdf, collision } = await loadMujocoModel(urdfPath, { meshSearchPath: opts.meshSearchPath });
    try {
      const spec = armSpecFromUrdf(urdf, opts.jointNames);
      const arm = new MujocoArm(mj, model, urdf, spec, dt, timestep, opts.jointDamping);
      arm.collision = collision;
      return arm;
    } catch (e) {
      model.delete();
      throw e;
    }
  }

  private live(): { m: MjModel; d: MjData } {
    if (!this.model || !this.data) throw new Error('MujocoArm: used after dispose()');
    return { m: this.model, d: this.data };
  }

  private vector(v: ArrayLike<number>, what: string): void {
    if (v.length !== this.spec.jointNames.length)
      throw new RangeError(`MujocoArm: ${what} must have ${this.spec.jointNames.length} entries, got ${v.length}`);
  }

  private record(): JointStateRecord {
    const { d } = this.live();
    const qpos = d.qpos as Float64Array, qvel = d.qvel as Float64Array;
    return {
      name: [...this.spec.jointNames],
      position: Float64Array.from(this.qposAdr, (a) => qpos[a]),
      velocity: Float64Array.from(this.dofAdr, (a) => qvel[a]),
      effort: Float64Array.from(this.applied),
      stamp: d.time,
    };
  }

  /**
   * Sets joint positions q [nJ] rad and velocities qd [nJ] rad/s with zero torque (all other MuJoCo
   * state, e.g. solver warm start, is cleared; simulation time keeps running so stamps stay
   * monotonic) and returns the reading.
   * @throws RangeError on a wrong length or a non-finite entry.
   */
  reset(q: Float64Array, qd: Float64Array): JointStateRecord {
    const { m, d } = this.live();
    this.vector(q, 'q');
    this.vector(qd, 'qd');
    for (let i = 0; i < q.length; i++)
      if (!Number.isFinite(q[i]) || !Number.isFinite(qd[i]))
        throw new RangeError(`MujocoArm.reset: non-finite state for ${this.spec.jointNames[i]}: q=${q[i]}, qd=${qd[i]}`);
    const time = d.time;
    this.mj.mj_resetData(m, d);
    d.time = time;
    const qpos = d.qpos as Float64Array, qvel = d.qvel as Float64Array;
    this.qposAdr.forEach((a, i) => (qpos[a] = q[i]));
    this.dofAdr.forEach((a, i) => (qvel[a] = qd[i]));
    this.applied.fill(0);
    this.mj.mj_forward(m, d);
    return this.record();
  }

  /** [nJ] N·m: the torque applied in the last step (the clamped command). */
  get lastControl(): Float64Array {
    return Float64Array.from(this.applied);
  }

  /**
   * Torque actually applied for a command u [nJ] N·m: clamped to ±effort limit, non-finite
   * entries (NaN, ±Infinity) become 0.
   */
  clampTorque(u: ArrayLike<number>): Float64Array {
    this.vector(u, 'u');
    const lim = this.spec.effortLimits;
    return Float64Array.from({ length: u.length }, (_, i) =>
      Number.isFinite(u[i]) ? Math.min(lim[i], Math.max(-lim[i], u[i])) : 0,
    );
  }

  /**
   * Applies u [nJ] N·m (see `clampTorque`) for one control period dt and returns the reading at its
   * end; `effort` is the applied torque, `stamp` the simulation time (s).
   * @throws RangeError on a wrong length; Error if MuJoCo detects a diverged state (it would
   *   otherwise reset the data silently).
   */
  step(u: Float64Array): JointStateRecord {
    const { m, d } = this.live();
    this.applied.set(this.clampTorque(u));
    const qfrc = d.qfrc_applied as Float64Array;
    this.dofAdr.forEach((a, i) => (qfrc[a] = this.applied[i]));
    const t0 = d.time;
    for (let k = 0; k < this.nSub; k++) this.mj.mj_step(m, d);
    // mj_step resets the data (time -> 0) when the state diverges; catch that instead of going on.
    if (!(Math.abs(d.time - (t0 + this.nSub * this.timestep)) < 0.5 * this.timestep)) throw new Error(`MujocoArm.step: MuJoCo reset a diverged simulation: ${mujocoMessages()}`);
    return this.record();
  }

  /**
   * MuJoCo's own world position [3] (m) of a body (= URDF link frame origin) at the current state,
   * for checking the TypeScript forward kinematics. @throws Error for an unknown body.
   */
  bodyPosition(name: string): Float64Array {
    const { m, d } = this.live();
    const id = this.mj.mj_name2id(m, this.mj.mjtObj.mjOBJ_BODY.value, name);
    if (id < 0) throw new Error(`MujocoArm: no body "${name}"`);
    this.mj.mj_kinematics(m, d); // xpos after mj_step is from before the last integration
    const xpos = d.xpos as Float64Array;
    return xpos.slice(3 * id, 3 * id + 3);
  }

  /**
   * Pairs of bodies in contact (`a–b`, `contactPairs`) with the joints at q [nJ] (rad or m), every
   * other joint at 0, at rest; the simulation's own state is not touched.
   * @throws RangeError on a wrong length.
   */
  contactsAt(q: ArrayLike<number>): string[] {
    const { m } = this.live();
    this.vector(q, 'q');
    const d = new this.mj.MjData(m);
    try {
      const qpos = d.qpos as Float64Array;
      this.qposAdr.forEach((a, i) => (qpos[a] = q[i]));
      this.mj.mj_forward(m, d);
      return contactPairs(this.mj, m, d);
    } finally {
      d.delete();
    }
  }

  /** Frees the MuJoCo model and data; the arm is unusable afterwards. Idempotent. */
  dispose(): void {
    this.data?.delete();
    this.model?.delete();
    this.data = null;
    this.model = null;
  }
}
