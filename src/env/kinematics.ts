/**
 * Forward kinematics and the position Jacobian of a link of a URDF chain, computed in TypeScript so
 * that the reacher's fingertip (and its reward) is available on a real arm, from joint states alone.
 *
 * Frames follow URDF: the pose of a child link in its parent is T(origin) · T_joint(q), where
 * T(origin) = Trans(xyz) · Rz(yaw) · Ry(pitch) · Rx(roll) and T_joint is a rotation by q about the
 * joint axis (revolute/continuous, Rodrigues' formula) or a translation q·axis (prismatic).
 * Positions are in m in the root-link frame (`world` for the reacher), q in rad (or m).
 * `closestReachable` (inverse kinematics for a point) tells whether a target can be reached.
 */
import { Matrix, solve } from 'ml-matrix';
import { Rng } from '../util/rng.js';
import { UrdfError, jointPath, type UrdfModel, type UrdfOrigin, type Vec3 } from './urdf.js';

/** A rigid transform: rotation R (row-major [3*3]) and translation p [3] (m). */
export interface Transform {
  R: Float64Array;
  p: Float64Array;
}

/** One joint of the path to the tip: its fixed origin transform and where it reads q. */
interface Segment {
  origin: Transform;
  type: 'revolute' | 'prismatic' | 'fixed';
  axis: Vec3;
  /** Index into q, or -1 for a fixed joint. */
  qIndex: number;
}

/** Rotation matrix of URDF fixed-axis roll-pitch-yaw: Rz(y) · Ry(p) · Rx(r), row-major. */
export function rpyToMatrix(rpy: Vec3): Float64Array {
  const [r, p, y] = rpy;
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  return Float64Array.of(
    cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
    sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
    -sp, cp * sr, cp * cr,
  );
}

/** Rotation by angle q (rad) about unit axis a, Rodrigues: I + sin q [a]x + (1 - cos q) [a]x². */
export function axisAngleToMatrix(a: Vec3, q: number): Float64Array {
  const [x, y, z] = a;
  const c = Math.cos(q), s = Math.sin(q), v = 1 - c;
  return Float64Array.of(
    c + x * x * v, x * y * v - z * s, x * z * v + y * s,
    y * x * v + z * s, c + y * y * v, y * z * v - x * s,
    z * x * v - y * s, z * y * v + x * s, c + z * z * v,
  );
}

function originTransform(o: UrdfOrigin): Transform {
  return { R: rpyToMatrix(o.rpy), p: Float64Array.from(o.xyz) };
}

/** out = A · B for row-major 3x3 (out may not alias A or B). */
function mul3(A: Float64Array, B: Float64Array, out: Float64Array): void {
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) out[3 * i + j] = A[3 * i] * B[j] + A[3 * i + 1] * B[3 + j] + A[3 * i + 2] * B[6 + j];
}

/** Composes T ← T · (R_b, p_b) in place: p ← p + R p_b, R ← R R_b. */
function compose(T: Transform, Rb: Float64Array, pb: ArrayLike<number>, tmp: Float64Array): void {
  const { R, p } = T;
  const x = pb[0], y = pb[1], z = pb[2];
  p[0] += R[0] * x + R[1] * y + R[2] * z;
  p[1] += R[3] * x + R[4] * y + R[5] * z;
  p[2] += R[6] * x + R[7] * y + R[8] * z;
  mul3(R, Rb, tmp);
  R.set(tmp);
}

const IDENTITY = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
const ZERO3 = Float64Array.of(0, 0, 0);

/**
 * The kinematic path from the URDF root to one link, reading joint values from q in the order of
 * `jointNames` (normally `ArmSpec.jointNames`).
 */
export class KinematicChain {
  readonly tipLink: string;
  readonly jointNames: readonly string[];
  private readonly segments: Segment[];

  /**
   * @param model parsed URDF
   * @param tipLink the link whose frame origin is tracked (e.g. `fingertip`)
   * @param jointNames q's layout [nJ]; every non-fixed joint on the path must be listed
   * @throws UrdfError when the link is unknown, a non-fixed joint on the path is not in
   *   `jointNames`, or a listed joint is not on the path.
   */
  constructor(model: UrdfModel, tipLink: string, jointNames: readonly string[]) {
    this.tipLink = tipLink;
    this.jointNames = [...jointNames];
    const path = jointPath(model, tipLink);
    this.segments = path.map((j) => {
      const qIndex = jointNames.indexOf(j.name);
      if (j.type !== 'fixed' && qIndex < 0)
        throw new UrdfError(`joint "${j.name}" on the path to "${tipLink}" is not in q (${jointNames.join(', ')})`);
      return {
        origin: originTransform(j.origin),
        type: j.type === 'fixed' ? 'fixed' : j.type === 'prismatic' ? 'prismatic' : 'revolute',
        axis: j.axis,
        qIndex: j.type === 'fixed' ? -1 : qIndex,
      };
    });
    for (const n of jointNames)
      if (!path.some((j) => j.name === n)) throw new UrdfError(`joint "${n}" is not on the path to "${tipLink}"`);
  }

  private checkQ(q: ArrayLike<number>): void {
    if (q.length !== this.jointNames.length)
      throw new RangeError(`KinematicChain: q must have ${this.jointNames.length} entries, got ${q.length}`);
  }

  /**
   * Walks the chain. Calls `visit(seg, T)` with the joint frame T (after the origin, before the
   * joint motion) of every non-fixed joint. Returns the tip transform.
   */
  private walk(q: ArrayLike<number>, visit?: (seg: Segment, T: Transform) => void): Transform {
    this.checkQ(q);
    const T: Transform = { R: Float64Array.from(IDENTITY), p: new Float64Array(3) };
    const tmp = new Float64Array(9);
    for (const s of this.segments) {
      compose(T, s.origin.R, s.origin.p, tmp);
      if (s.type === 'fixed') continue;
      visit?.(s, T);
      const v = q[s.qIndex];
      if (s.type === 'revolute') compose(T, axisAngleToMatrix(s.axis, v), ZERO3, tmp);
      else compose(T, IDENTITY, [s.axis[0] * v, s.axis[1] * v, s.axis[2] * v], tmp);
    }
    return T;
  }

  /** Pose of the tip link frame in the root frame for q [nJ]. @throws RangeError on a wrong q length. */
  transform(q: ArrayLike<number>): Transform {
    return this.walk(q);
  }

  /** Position [3] (m) of the tip link origin in the root frame. @throws RangeError on a wrong q length. */
  position(q: ArrayLike<number>): Float64Array {
    return this.walk(q).p;
  }

  /**
   * Position Jacobian dp/dq, [3 * nJ] row-major (row = x, y, z; m/rad or m/m): column i is
   * a_i × (p - o_i) for a revolute joint with world axis a_i through o_i, and a_i for a prismatic
   * joint. @throws RangeError on a wrong q length.
   */
  jacobian(q: ArrayLike<number>): Float64Array {
    const nJ = this.jointNames.length;
    const frames: { i: number; type: Segment['type']; a: number[]; o: number[] }[] = [];
    const tip = this.walk(q, (s, T) => {
      const { R } = T;
      const [x, y, z] = s.axis;
      frames.push({
        i: s.qIndex,
        type: s.type,
        a: [R[0] * x + R[1] * y + R[2] * z, R[3] * x + R[4] * y + R[5] * z, R[6] * x + R[7] * y + R[8] * z],
        o: [T.p[0], T.p[1], T.p[2]],
      });
    });
    const J = new Float64Array(3 * nJ);
    for (const { i, type, a, o } of frames) {
      let c: number[];
      if (type === 'prismatic') c = a;
      else {
        const r = [tip.p[0] - o[0], tip.p[1] - o[1], tip.p[2] - o[2]];
        c = [a[1] * r[2] - a[2] * r[1], a[2] * r[0] - a[0] * r[2], a[0] * r[1] - a[1] * r[0]];
      }
      J[i] = c[0];
      J[nJ + i] = c[1];
      J[2 * nJ + i] = c[2];
    }
    return J;
  }

  /**
   * World-frame axis (unit) and origin (m) of each joint of q at configuration q, [nJ] entries in
   * q's order. @throws RangeError on a wrong q length.
   */
  jointFrames(q: ArrayLike<number>): { axis: Float64Array; origin: Float64Array }[] {
    const out: { axis: Float64Array; origin: Float64Array }[] = new Array(this.jointNames.length);
    this.walk(q, (s, T) => {
      const { R } = T;
      const [x, y, z] = s.axis;
      out[s.qIndex] = {
        axis: Float64Array.of(R[0] * x + R[1] * y + R[2] * z, R[3] * x + R[4] * y + R[5] * z, R[6] * x + R[7] * y + R[8] * z),
        origin: Float64Array.from(T.p),
      };
    });
    return out;
  }
}

export interface ReachResult {
  /** [nJ] the best configuration found, within the limits. */
  q: Float64Array;
  /** [3] m, the tip position there. */
  position: Float64Array;
  /** m, its distance to the target. */
  distance: number;
}

/**
 * The point of the tip's reachable set (joint positions within [lower, upper]) closest to a
 * target: Levenberg-Marquardt inverse kinematics for the tip position (damped least squares
 * dq = Jᵀ (J Jᵀ + λ² I)⁻¹ e, clamped to the limits; a step that does not bring the tip closer is
 * refused and λ raised, an accepted one lowers it), from `start` and then from seeded uniform
 * random starts until the tip is within `tolerance` (position only, any orientation).
 * Deterministic. A target it cannot reach within `tolerance` from any start is, in practice, out
 * of reach (a local optimum on every start is possible but unlikely).
 * @param chain the tip's chain
 * @param target [3] m, root frame
 * @param lower, upper [nJ] joint limits (±Infinity for continuous joints: random starts in ±pi)
 * @param opts.start [nJ] first start (e.g. the home pose); opts.starts random starts after it
 *   (default 12); opts.iterations per start (default 200); opts.tolerance m (default 1e-4)
 * @returns the best configuration found, its tip position and distance (m)
 * @throws RangeError on wrong lengths.
 */
export function closestReachable(
  chain: KinematicChain, target: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>,
  opts: { start?: ArrayLike<number>; starts?: number; iterations?: number; tolerance?: number; seed?: number } = {},
): ReachResult {
  const nJ = chain.jointNames.length;
  if (target.length !== 3) throw new RangeError(`closestReachable: target must have 3 entries, got ${target.length}`);
  if (lower.length !== nJ || upper.length !== nJ) throw new RangeError(`closestReachable: limits must have ${nJ} entries`);
  const tol = opts.tolerance ?? 1e-4;
  const rng = new Rng(opts.seed ?? 1);
  const lo = (i: number) => (Number.isFinite(lower[i]) ? lower[i] : -Math.PI);
  const hi = (i: number) => (Number.isFinite(upper[i]) ? upper[i] : Math.PI);
  const clamp = (q: Float64Array) => q.forEach((v, i) => (q[i] = Math.min(upper[i], Math.max(lower[i], v))));
  const dist = (p: Float64Array) => Math.hypot(target[0] - p[0], target[1] - p[1], target[2] - p[2]);
  let best: ReachResult | null = null;
  const nStarts = 1 + (opts.starts ?? 12);
  for (let s = 0; s < nStarts && !(best && best.distance <= tol); s++) {
    let q = s === 0 && opts.start ? Float64Array.from(opts.start) : Float64Array.from({ length: nJ }, (_, i) => lo(i) + (hi(i) - lo(i)) * rng.uniform());
    clamp(q);
    let p = chain.position(q);
    let d = dist(p);
    let lambda2 = 1e-4;
    for (let it = 0; it < (opts.iterations ?? 200) && d > tol && lambda2 < 1e6; it++) {
      const J = new Matrix(3, nJ);
      const Jq = chain.jacobian(q);
      for (let r = 0; r < 3; r++) for (let c = 0; c < nJ; c++) J.set(r, c, Jq[r * nJ + c]);
      const e = Matrix.columnVector([target[0] - p[0], target[1] - p[1], target[2] - p[2]]);
      const A = J.mmul(J.transpose()).add(Matrix.eye(3).mul(lambda2));
      const dq = J.transpose().mmul(solve(A, e));
      const q2 = Float64Array.from(q, (v, i) => v + dq.get(i, 0));
      clamp(q2);
      const p2 = chain.position(q2);
      const d2 = dist(p2);
      if (d2 < d) {
        [q, p, d] = [q2, p2, d2];
        lambda2 = Math.max(1e-8, lambda2 / 3);
      } else lambda2 *= 4;
    }
    if (!best || d < best.distance) best = { q, position: p, distance: d };
  }
  return best!;
}
