/**
 * Homing under control (DESIGN Sec. 4: "On hardware an episode starts with a homing phase: a
 * low-gain, torque-capped PD move to the home pose"; Sec. 8: prefer homing under control to
 * resetting a ros2_control simulation). Each episode can then start from the low-variance
 * initial state that the time-varying dynamics fit needs (paper Sec. 5.3).
 */

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
