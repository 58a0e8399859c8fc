/**
 * Homing under control (DESIGN Sec. 4: "On hardware an episode starts with homing: PD + gravity
 * compensation, torque-capped, gains derived from the arm's mass matrix unless set"; Sec. 8:
 * prefer homing under control to resetting a ros2_control simulation). Each episode can then
 * start from the low-variance initial state that the time-varying dynamics fit needs (paper
 * Sec. 5.3). Gravity compensation is added by the safety supervisor, not here.
 */
import { Matrix, inverse } from 'ml-matrix';

export interface PdGains {
  /** [nJ] N·m/rad, or one value for all joints */
  kp: Float64Array | number;
  /** [nJ] N·m·s/rad, or one value for all joints */
  kd: Float64Array | number;
  /** [nJ] N·m, symmetric torque cap (> 0) */
  maxTorque: Float64Array;
}

/**
 * u_i = clamp(kp_i (qHome_i − q_i) − kd_i qd_i, ±maxTorque_i).
 * @param q [nJ] rad  @param qd [nJ] rad/s  @param qHome [nJ] rad  @returns u [nJ] N·m
 * @throws RangeError on mismatched lengths, non-finite q/qd/qHome, negative gains or a
 * non-positive torque cap.
 */
export function pdHomingTorque(q: Float64Array, qd: Float64Array, qHome: Float64Array, g: PdGains): Float64Array {
  const n = q.length;
  checkJoints(q, qd, qHome, 'pdHomingTorque');
  const kp = gain(g.kp, n, 'kp'), kd = gain(g.kd, n, 'kd');
  if (g.maxTorque.length !== n || !g.maxTorque.every((v) => v > 0 && Number.isFinite(v))) {
    throw new RangeError(`pdHomingTorque: maxTorque must be ${n} positive finite N·m values`);
  }
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const raw = kp[i] * (qHome[i] - q[i]) - kd[i] * qd[i];
    u[i] = Math.min(g.maxTorque[i], Math.max(-g.maxTorque[i], raw));
  }
  return u;
}

/**
 * True when every joint is within `tolRad` of home and moves slower than `tolRadPerSec`.
 * @param q [nJ] rad  @param qd [nJ] rad/s  @param qHome [nJ] rad
 * @throws RangeError on mismatched lengths, non-finite values or non-positive tolerances.
 */
export function homed(q: Float64Array, qd: Float64Array, qHome: Float64Array, tolRad: number, tolRadPerSec: number): boolean {
  checkJoints(q, qd, qHome, 'homed');
  if (!(tolRad > 0) || !(tolRadPerSec > 0)) throw new RangeError(`homed: tolerances must be > 0, got ${tolRad} rad, ${tolRadPerSec} rad/s`);
  for (let i = 0; i < q.length; i++) {
    if (Math.abs(q[i] - qHome[i]) > tolRad || Math.abs(qd[i]) > tolRadPerSec) return false;
  }
  return true;
}

function checkJoints(q: Float64Array, qd: Float64Array, qHome: Float64Array, who: string): void {
  if (q.length === 0 || qd.length !== q.length || qHome.length !== q.length) {
    throw new RangeError(`${who}: q, qd and qHome must have the same non-zero length, got ${q.length}, ${qd.length}, ${qHome.length}`);
  }
  for (const [name, v] of [['q', q], ['qd', qd], ['qHome', qHome]] as const) {
    if (!v.every(Number.isFinite)) throw new RangeError(`${who}: ${name} has a non-finite entry`);
  }
}

function gain(g: Float64Array | number, n: number, name: string): Float64Array {
  const a = typeof g === 'number' ? new Float64Array(n).fill(g) : g;
  if (a.length !== n || !a.every((v) => v >= 0 && Number.isFinite(v))) {
    throw new RangeError(`pdHomingTorque: ${name} must be a non-negative finite number or ${n} of them`);
  }
  return a;
}

/**
 * PD gains from the arm itself, so no one hand-tunes homing per arm. Per joint j, with
 * m_j = 1 / [M(q_home)⁻¹]_jj (the joint's inertia with the other joints free: the smallest it
 * can see), b_j its URDF damping and omega = min(1 / (5 dt), 10) rad/s (five control periods, and
 * at most a 0.6 s settling time for arms with fast control loops):
 *   c_j = max(b_j, 2 m_j omega),  kd_j = c_j - b_j,  kp_j = omega (c_j - m_j omega).
 * The closed loop m q'' + (b + kd) q' + kp q = 0 then has its poles at -omega (double, for a
 * lightly damped joint) or at -omega and -(c/m - omega) (a joint whose own damping exceeds
 * 2 m omega: no extra damping, and kp ≈ b omega), never oscillating; kd dt / m <= 2 omega dt
 * <= 0.4 keeps the sampled PD from chattering. With gravity compensated, q_home is reached in
 * about 4 / omega (0.4 s at 50 Hz) for errors the torque cap does not limit.
 * @param M [nJ * nJ] row-major, kg·m², the mass matrix at the home pose
 * @param damping [nJ] N·m·s/rad
 * @param dt control period, s
 * @returns kp [nJ] N·m/rad, kd [nJ] N·m·s/rad
 * @throws RangeError on mismatched sizes, a non-positive dt, or an M that is not positive definite.
 */
export function derivedHomingGains(M: Float64Array, damping: Float64Array, dt: number): { kp: Float64Array; kd: Float64Array } {
  const n = damping.length;
  if (M.length !== n * n) throw new RangeError(`derivedHomingGains: M must have ${n * n} entries for ${n} joints, got ${M.length}`);
  if (!(dt > 0)) throw new RangeError(`derivedHomingGains: dt must be > 0 s, got ${dt}`);
  const Minv = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(M.subarray(i * n, (i + 1) * n)))));
  const omega = Math.min(1 / (5 * dt), 10);
  const kp = new Float64Array(n), kd = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const d = Minv.get(j, j);
    if (!(d > 0 && Number.isFinite(d))) throw new RangeError(`derivedHomingGains: M is not positive definite (joint ${j})`);
    const m = 1 / d, b = Math.max(0, damping[j]);
    const c = Math.max(b, 2 * m * omega);
    kd[j] = c - b;
    kp[j] = omega * (c - m * omega);
  }
  return { kp, kd };
}
