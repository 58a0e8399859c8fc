/**
 * The arm's rigid-body model: gravity torques g(q) and the joint-space inertia matrix M(q),
 * computed by MuJoCo (a maintained rigid-body library) on a model loaded from the arm's own URDF
 * (`mujoco_model.ts`), never by a hand-written recursion. It has its own MjModel/MjData, separate
 * from any simulation: the ROS node driving a real arm has no simulator, and the embedded arm's
 * state must not be touched by these queries.
 *
 * g(q) is MuJoCo's bias force `qfrc_bias = C(q, qd) qd + g(q)` evaluated at qd = 0 (`mj_forward`
 * with zero velocity): the generalized force gravity exerts, with the sign of the torque that
 * cancels it, so applying u + g(q) makes the arm move as if weightless under u. M(q) is
 * `mj_fullM` of MuJoCo's `qM`. Joints of the URDF that are not in `jointNames` (a gripper, say)
 * are held at 0.
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import { armSpecFromUrdf } from './urdf.js';
import { jointAddresses, loadMujocoModel, type MujocoModelOptions } from './mujoco_model.js';
import { contactPairs, type CollisionReport } from './collision_report.js';
import type { ArmDynamics, ArmSpec } from './types.js';

export class RigidBodyModel implements ArmDynamics {
  readonly spec: ArmSpec;
  readonly damping: Float64Array;
  /** The collision geometry of the model (used only by `contactsAt`: g and M do not depend on it). */
  collision: CollisionReport = { links: [] };
  private readonly qposAdr: Int32Array;
  private readonly dofAdr: Int32Array;
  private model: MjModel | null;
  private data: MjData | null;

  private constructor(private readonly mj: MainModule, model: MjModel, spec: ArmSpec) {
    this.model = model;
    this.spec = spec;
    const adr = jointAddresses(mj, model, spec.jointNames, 'RigidBodyModel');
    this.qposAdr = adr.qpos;
    this.dofAdr = adr.dof;
    const damping = model.dof_damping as Float64Array;
    this.damping = Float64Array.from(this.dofAdr, (a) => damping[a]);
    this.data = new mj.MjData(model);
    // g(q) and M(q) need no collision detection (mj_forward would run it on every query).
    model.opt.disableflags |= mj.mjtDisableBit.mjDSBL_CONTACT.value;
  }

  /**
   * @param urdfPath the arm's URDF (the file the simulation or the robot description uses)
   * @param jointNames the joints of q, base to tip (default: every actuated joint of the URDF,
   *   which must then be one serial chain)
   * @param opts meshSearchPath: folders searched first for `package://` meshes (`mesh_search_path`)
   * @throws as `loadMujocoModel` (UrdfError, MuJoCo's rejection) and `armSpecFromUrdf`.
   */
  static async create(urdfPath: string, jointNames?: readonly string[], opts: MujocoModelOptions = {}): Promise<RigidBodyModel> {
    const { mj, model, urdf, collision } = await loadMujocoModel(urdfPath, opts);
    try {
      const rb = new RigidBodyModel(mj, model, armSpecFromUrdf(urdf, jointNames));
      rb.collision = collision;
      return rb;
    } catch (e) {
      model.delete();
      throw e;
    }
  }

  /** Sets q (other joints 0) with zero velocity and runs MuJoCo's forward pass. */
  private at(q: ArrayLike<number>): { m: MjModel; d: MjData } {
    if (!this.model || !this.data) throw new Error('RigidBodyModel: used after dispose()');
    const n = this.qposAdr.length;
    if (q.length !== n) throw new RangeError(`RigidBodyModel: q must have ${n} entries, got ${q.length}`);
    const { model: m, data: d } = this;
    const qpos = d.qpos as Float64Array;
    qpos.fill(0);
    (d.qvel as Float64Array).fill(0);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(q[i])) throw new RangeError(`RigidBodyModel: q[${i}] (${this.spec.jointNames[i]}) is not finite: ${q[i]}`);
      qpos[this.qposAdr[i]] = q[i];
    }
    this.mj.mj_forward(m, d);
    return { m, d };
  }

  /** g(q) [nJ] N·m. @throws RangeError on a wrong length or a non-finite q. */
  gravity(q: ArrayLike<number>): Float64Array {
    const { d } = this.at(q);
    const bias = d.qfrc_bias as Float64Array;
    return Float64Array.from(this.dofAdr, (a) => bias[a]);
  }

  /** M(q) [nJ * nJ] row-major, kg·m². @throws RangeError on a wrong length or a non-finite q. */
  massMatrix(q: ArrayLike<number>): Float64Array {
    const { m, d } = this.at(q);
    const nv = m.nv;
    const buf = new this.mj.DoubleBuffer(nv * nv);
    try {
      this.mj.mj_fullM(m, buf, d.qM as number[]);
      const full = buf.GetView() as Float64Array;
      const n = this.dofAdr.length;
      const M = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] = full[this.dofAdr[i] * nv + this.dofAdr[j]];
      return M;
    } finally {
      buf.delete();
    }
  }

  /**
   * Pairs of bodies in contact (`a–b`, `contactPairs`) at q [nJ] (other joints 0, at rest).
   * @throws RangeError on a wrong length or a non-finite q.
   */
  contactsAt(q: ArrayLike<number>): string[] {
    if (!this.model) throw new Error('RigidBodyModel: used after dispose()');
    const opt = this.model.opt, flag = this.mj.mjtDisableBit.mjDSBL_CONTACT.value;
    opt.disableflags &= ~flag;
    try {
      const { m, d } = this.at(q);
      return contactPairs(this.mj, m, d);
    } finally {
      opt.disableflags |= flag;
    }
  }

  /** Frees the MuJoCo model and data. Idempotent. */
  dispose(): void {
    this.data?.delete();
    this.model?.delete();
    this.data = null;
    this.model = null;
  }
}
