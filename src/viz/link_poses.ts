/**
 * The pose of every URDF link in its parent link, for `/tf`: what robot_state_publisher computes
 * from joint states, here in TypeScript from the parsed URDF (`src/env/urdf.ts`) with the rotations
 * of `src/env/kinematics.ts` (child in parent = T(origin) · T_joint(q), URDF conventions).
 */
import { axisAngleToMatrix, rpyToMatrix } from '../env/kinematics.js';
import type { UrdfModel } from '../env/urdf.js';

/** A parent -> child transform: translation (m) and unit quaternion (x, y, z, w). */
export interface LinkTransform {
  parent: string;
  child: string;
  translation: [number, number, number];
  rotation: [number, number, number, number];
}

/** Unit quaternion (x, y, z, w) of a row-major rotation matrix [9] (Shepperd's method). */
export function matrixToQuaternion(R: ArrayLike<number>): [number, number, number, number] {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = Array.from(R);
  const tr = m00 + m11 + m22;
  let q: [number, number, number, number];
  if (tr > 0) {
    const s = 2 * Math.sqrt(tr + 1);
    q = [(m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, s / 4];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [s / 4, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m01 + m10) / s, s / 4, (m12 + m21) / s, (m02 - m20) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m02 + m20) / s, (m12 + m21) / s, s / 4, (m10 - m01) / s];
  }
  const n = Math.hypot(...q);
  return q.map((v) => v / n) as [number, number, number, number];
}

/**
 * Transforms of every joint of `model` (document order) at joint values `q`.
 * @param q joint values by name, rad (revolute, continuous) or m (prismatic); joints not in it are
 *   at 0 (a gripper's passive fingers)
 */
export function linkTransforms(model: UrdfModel, q: ReadonlyMap<string, number>): LinkTransform[] {
  return model.joints.map((j) => {
    const R0 = rpyToMatrix(j.origin.rpy);
    const p = [...j.origin.xyz] as [number, number, number];
    const v = j.type === 'fixed' ? 0 : (q.get(j.name) ?? 0);
    let R = R0;
    if (j.type === 'revolute' || j.type === 'continuous') {
      const Rq = axisAngleToMatrix(j.axis, v);
      R = new Float64Array(9);
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) R[3 * r + c] = R0[3 * r] * Rq[c] + R0[3 * r + 1] * Rq[3 + c] + R0[3 * r + 2] * Rq[6 + c];
    } else if (j.type === 'prismatic') {
      for (let r = 0; r < 3; r++) p[r] += v * (R0[3 * r] * j.axis[0] + R0[3 * r + 1] * j.axis[1] + R0[3 * r + 2] * j.axis[2]);
    }
    return { parent: j.parent, child: j.child, translation: p, rotation: matrixToQuaternion(R) };
  });
}
