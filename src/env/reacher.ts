/**
 * The reacher task (Gu et al. 2016, Sec. 6: "three-joint reacher"; the DDPG paper's reacher): bring
 * the fingertip of a planar arm to a target in the plane. The paper gives no reward, horizon or
 * initial-state distribution; the choices here are documented on `ReacherTask` and `REACHER_DEFAULTS`.
 */
import type { Rng } from '../util/rng.js';
import { KinematicChain } from './kinematics.js';
import { armSpecFromUrdf, type UrdfModel } from './urdf.js';
import type { ArmSpec, EpisodeStart, JointStateRecord, RewardExpansion, Task } from './types.js';

export interface ReacherOptions {
  /** Episode length, control steps (fixed, Sec. 5.3). Default 100 (2 s at 20 ms). */
  T?: number;
  /** Home pose [nJ], rad; episodes start around it. Default (0, 0.8, 0.8) for a 3-joint arm. */
  homePose?: readonly number[];
  /** Std of the initial state: q ~ N(home, initStd² I) rad, qd ~ N(0, initStd² I) rad/s. Default 0.02. */
  initStd?: number;
  /** 'fixed' (single target, as in the paper's model-based experiments, Sec. 6.3) or 'random'. */
  targetMode?: 'fixed' | 'random';
  /** Target (x, y), m, in the root frame, for 'fixed' mode. Default (0.2, -0.02): 0.21 m from the home fingertip. */
  fixedTarget?: readonly number[];
  /** [rmin, rmax], m: 'random' mode draws targets uniformly over this annulus around joint 1. Default [0.1, 0.3]. */
  randomTargetRadius?: readonly number[];
  /** Weight c of the normalised torque penalty, per step. Default 0.01. */
  torquePenalty?: number;
  /** delta, m, of the smoothed distance sqrt(|d|² + delta²) - delta. Default 0.01. */
  distanceSmoothing?: number;
  /** Link whose origin is the fingertip. Default 'fingertip'. */
  tipLink?: string;
  /** Actuated joints, base to tip. Default: the URDF's serial chain. */
  jointNames?: readonly string[];
}

/** Defaults for urdf/reacher3.urdf (reach 0.34 m, home fingertip at (0.201, 0.186) m). */
export const REACHER_DEFAULTS = Object.freeze({
  T: 100,
  homePose: Object.freeze([0, 0.8, 0.8]) as readonly number[],
  initStd: 0.02,
  targetMode: 'fixed' as 'fixed' | 'random',
  fixedTarget: Object.freeze([0.2, -0.02]) as readonly number[],
  randomTargetRadius: Object.freeze([0.1, 0.3]) as readonly number[],
  torquePenalty: 0.01,
  distanceSmoothing: 0.01,
  tipLink: 'fingertip',
});

function fail(field: string, must: string, got: unknown): never {
  throw new RangeError(`ReacherTask: option '${field}' must be ${must}, got ${JSON.stringify(got)}`);
}

function finiteArray(v: unknown, n: number, field: string): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((e) => typeof e === 'number' && Number.isFinite(e)))
    fail(field, `an array of ${n} finite numbers`, v);
  return v as number[];
}

/**
 * Reacher on a planar arm whose joints all turn about the root frame's z axis.
 *
 * Observation x, [dX = 3 nJ + 2] (11 for three joints):
 *   [cos q (nJ), sin q (nJ), qd (nJ) rad/s, d = p(q) - target (2) m],
 * with p(q) the fingertip (x, y) from the URDF forward kinematics (`KinematicChain`).
 * Action u [nJ]: joint torques, N·m, bounded by `uMax` = the URDF effort limits.
 *
 * Reward per step (dimensionless; the distance term in m):
 *   r(x, u) = -(sqrt(|d|² + delta²) - delta) - c · sum_i (u_i / uMax_i)²,
 * d read from x, so r depends on x and u only (imagined transitions get their reward from x).
 * The first term is a pseudo-Huber distance: ≈ |d|²/(2 delta) within delta of the target (smooth,
 * so the iLQG expansion is well defined there) and ≈ |d| - delta far from it. The penalty is on the
 * commanded (not clamped) u, keeping r smooth; c = 0.01 costs 0.03 per step at full torque on all
 * three joints, the distance term at 3 cm.
 */
export class ReacherTask implements Task {
  readonly dX: number;
  readonly dU: number;
  readonly T: number;
  readonly uMax: Float64Array;
  readonly spec: ArmSpec;
  readonly chain: KinematicChain;
  readonly homePose: Float64Array;
  readonly initStd: number;
  readonly targetMode: 'fixed' | 'random';
  readonly fixedTarget: Float64Array;
  readonly randomTargetRadius: [number, number];
  readonly torquePenalty: number;
  readonly delta: number;
  /** (x, y) of joint 1's axis, m: centre of the random-target annulus. */
  readonly base: Float64Array;
  /** Upper bound of the fingertip's distance from `base`, m (sum of the link lengths in the plane). */
  readonly reach: number;
  private readonly nJ: number;
  private target: Float64Array;

  /**
   * @param model the parsed URDF
   * @param options see `ReacherOptions`; absent or undefined entries take `REACHER_DEFAULTS`
   * @throws RangeError naming the option when an option is invalid (wrong type or length,
   *   non-finite, home pose outside the joint limits, a target beyond the reach); UrdfError when the
   *   joints or tip link are not a serial chain; Error when the arm is not planar about z.
   */
  constructor(model: UrdfModel, options: ReacherOptions = {}) {
    // Options given as undefined take the default (config loaders pass absent keys that way).
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ReacherOptions;
    const o = { ...REACHER_DEFAULTS, ...given };
    this.spec = armSpecFromUrdf(model, o.jointNames);
    const nJ = (this.nJ = this.spec.jointNames.length);
    this.chain = new KinematicChain(model, o.tipLink, this.spec.jointNames);
    for (const n of this.spec.jointNames)
      if (model.joints.find((j) => j.name === n)!.type === 'prismatic')
        throw new Error(`ReacherTask: joint "${n}" is prismatic; the reacher needs revolute joints`);
    const frames = this.chain.jointFrames(new Float64Array(nJ));
    frames.forEach((f, i) => {
      if (Math.abs(f.axis[2]) < 1 - 1e-9)
        throw new Error(`ReacherTask: joint "${this.spec.jointNames[i]}" does not turn about z; the reacher needs a planar arm`);
    });
    this.base = frames[0].origin.slice(0, 2);
    const pts = [...frames.map((f) => f.origin), this.chain.position(new Float64Array(nJ))];
    this.reach = pts.slice(1).reduce((s, p, i) => s + Math.hypot(p[0] - pts[i][0], p[1] - pts[i][1]), 0);

    if (!(Number.isInteger(o.T) && o.T >= 1)) fail('T', 'an integer >= 1', o.T);
    if (options.homePose === undefined && nJ !== 3) fail('homePose', `given for a ${nJ}-joint arm`, undefined);
    const home = finiteArray(o.homePose, nJ, 'homePose');
    home.forEach((h, i) => {
      if (h < this.spec.lowerLimits[i] || h > this.spec.upperLimits[i])
        fail('homePose', `within the joint limits of ${this.spec.jointNames[i]}`, o.homePose);
    });
    if (!(typeof o.initStd === 'number' && Number.isFinite(o.initStd) && o.initStd >= 0)) fail('initStd', 'a finite number >= 0 (rad)', o.initStd);
    if (o.targetMode !== 'fixed' && o.targetMode !== 'random') fail('targetMode', "'fixed' or 'random'", o.targetMode);
    const ft = finiteArray(o.fixedTarget, 2, 'fixedTarget');
    if (Math.hypot(ft[0] - this.base[0], ft[1] - this.base[1]) > this.reach)
      fail('fixedTarget', `within the arm's reach (${this.reach.toFixed(3)} m from joint 1)`, o.fixedTarget);
    const [rmin, rmax] = finiteArray(o.randomTargetRadius, 2, 'randomTargetRadius');
    if (!(rmin >= 0 && rmin <= rmax && rmax <= this.reach))
      fail('randomTargetRadius', `[rmin, rmax] with 0 <= rmin <= rmax <= reach (${this.reach.toFixed(3)} m)`, o.randomTargetRadius);
    if (!(typeof o.torquePenalty === 'number' && Number.isFinite(o.torquePenalty) && o.torquePenalty >= 0))
      fail('torquePenalty', 'a finite number >= 0', o.torquePenalty);
    if (!(typeof o.distanceSmoothing === 'number' && Number.isFinite(o.distanceSmoothing) && o.distanceSmoothing > 0))
      fail('distanceSmoothing', 'a finite number > 0 (m)', o.distanceSmoothing);

    this.dX = 3 * nJ + 2;
    this.dU = nJ;
    this.T = o.T;
    this.uMax = Float64Array.from(this.spec.effortLimits);
    this.homePose = Float64Array.from(home);
    this.initStd = o.initStd;
    this.targetMode = o.targetMode;
    this.fixedTarget = Float64Array.from(ft);
    this.randomTargetRadius = [rmin, rmax];
    this.torquePenalty = o.torquePenalty;
    this.delta = o.distanceSmoothing;
    this.target = Float64Array.from(ft);
  }

  private check(v: ArrayLike<number>, n: number, what: string): void {
    if (v.length !== n) throw new RangeError(`ReacherTask: ${what} must have ${n} entries, got ${v.length}`);
  }

  /** The current target (x, y), m (a copy). */
  getTarget(): Float64Array {
    return Float64Array.from(this.target);
  }

  /** Sets the target (x, y), m. @throws RangeError on a wrong length or non-finite entries. */
  setTarget(target: Float64Array): void {
    this.check(target, 2, 'target');
    if (!Number.isFinite(target[0]) || !Number.isFinite(target[1]))
      throw new RangeError(`ReacherTask: target must be finite, got [${target[0]}, ${target[1]}]`);
    this.target = Float64Array.from(target);
  }

  /** Fingertip (x, y) [2], m, at joint positions q [nJ] rad (URDF forward kinematics). */
  fingertip(q: ArrayLike<number>): Float64Array {
    return this.chain.position(q).slice(0, 2);
  }

  /** Observation x [dX] for q [nJ] rad, qd [nJ] rad/s and a target [2] m (default: the current one). */
  observation(q: ArrayLike<number>, qd: ArrayLike<number>, target: ArrayLike<number> = this.target): Float64Array {
    const nJ = this.nJ;
    this.check(q, nJ, 'q');
    this.check(qd, nJ, 'qd');
    const x = new Float64Array(this.dX);
    for (let i = 0; i < nJ; i++) {
      x[i] = Math.cos(q[i]);
      x[nJ + i] = Math.sin(q[i]);
      x[2 * nJ + i] = qd[i];
    }
    const p = this.fingertip(q);
    x[3 * nJ] = p[0] - target[0];
    x[3 * nJ + 1] = p[1] - target[1];
    return x;
  }

  /**
   * Observation x [dX] from a joint reading, matching joints by name (extra joints ignored), for the
   * current target. @throws Error naming a missing joint; RangeError for a non-finite reading.
   */
  observe(js: JointStateRecord): Float64Array {
    const q = new Float64Array(this.nJ), qd = new Float64Array(this.nJ);
    this.spec.jointNames.forEach((n, i) => {
      const k = js.name.indexOf(n);
      if (k < 0) throw new Error(`ReacherTask.observe: joint "${n}" missing from the joint state [${js.name.join(', ')}]`);
      q[i] = js.position[k];
      qd[i] = js.velocity[k];
      if (!Number.isFinite(q[i]) || !Number.isFinite(qd[i]))
        throw new RangeError(`ReacherTask.observe: non-finite state for "${n}": q=${q[i]}, qd=${qd[i]}`);
    });
    return this.observation(q, qd);
  }

  /** Fingertip distance |d| (m) to the target encoded in x [dX]. */
  distance(x: Float64Array): number {
    this.check(x, this.dX, 'x');
    return Math.hypot(x[3 * this.nJ], x[3 * this.nJ + 1]);
  }

  /** q [nJ] = atan2(sin q, cos q) rad and qd [nJ] rad/s from x [dX]. */
  jointsFromObservation(x: Float64Array): { q: Float64Array; qd: Float64Array } {
    this.check(x, this.dX, 'x');
    const nJ = this.nJ;
    return {
      q: Float64Array.from({ length: nJ }, (_, i) => Math.atan2(x[nJ + i], x[i])),
      qd: x.slice(2 * nJ, 3 * nJ),
    };
  }

  /** The target [2] m encoded in x: p(q) - d (x fully determines it, whatever the current target). */
  targetFromObservation(x: Float64Array): Float64Array {
    const { q } = this.jointsFromObservation(x);
    const p = this.fingertip(q);
    return Float64Array.of(p[0] - x[3 * this.nJ], p[1] - x[3 * this.nJ + 1]);
  }

  /** r(x, u), see the class docstring. x [dX], u [dU] N·m. @throws RangeError on wrong lengths. */
  reward(x: Float64Array, u: Float64Array): number {
    return this.expand(x, u, false).r;
  }

  /**
   * r and its analytic derivatives at (x, u), for iLQG: rx [dX], ru [dU], rxx [dX*dX], ruu [dU*dU],
   * rux [dU*dX] (row-major; rux = 0, the reward is separable). With s = sqrt(|d|² + delta²):
   * dr/dd = -d / s, d²r/dd² = -(I / s - d dᵀ / s³); dr/du_i = -2c u_i / uMax_i², d²r/du_i² = -2c / uMax_i².
   * @throws RangeError on wrong lengths.
   */
  rewardExpansion(x: Float64Array, u: Float64Array): RewardExpansion {
    return this.expand(x, u, true);
  }

  private expand(x: Float64Array, u: Float64Array, derivatives: boolean): RewardExpansion {
    this.check(x, this.dX, 'x');
    this.check(u, this.dU, 'u');
    const { dX, dU, delta } = this;
    const c = this.torquePenalty;
    const k = 3 * this.nJ;
    const d0 = x[k], d1 = x[k + 1];
    const s = Math.sqrt(d0 * d0 + d1 * d1 + delta * delta);
    let r = -(s - delta);
    for (let i = 0; i < dU; i++) r -= c * (u[i] / this.uMax[i]) ** 2;
    const rx = new Float64Array(derivatives ? dX : 0), ru = new Float64Array(derivatives ? dU : 0);
    const rxx = new Float64Array(derivatives ? dX * dX : 0), ruu = new Float64Array(derivatives ? dU * dU : 0);
    if (derivatives) {
      rx[k] = -d0 / s;
      rx[k + 1] = -d1 / s;
      const s3 = s * s * s;
      rxx[k * dX + k] = -(1 / s - (d0 * d0) / s3);
      rxx[(k + 1) * dX + k + 1] = -(1 / s - (d1 * d1) / s3);
      rxx[k * dX + k + 1] = rxx[(k + 1) * dX + k] = (d0 * d1) / s3;
      for (let i = 0; i < dU; i++) {
        const w = 2 * c / (this.uMax[i] * this.uMax[i]);
        ru[i] = -w * u[i];
        ruu[i * dU + i] = -w;
      }
    }
    return { r, rx, ru, rxx, ruu, rux: new Float64Array(derivatives ? dU * dX : 0) };
  }

  /**
   * Draws an episode start: q ~ N(home, initStd²) clipped to the joint limits, qd ~ N(0, initStd²),
   * and the target (fixed; or uniform over the annulus randomTargetRadius around joint 1, angle
   * uniform in [-pi, pi)). Also makes the drawn target the current one.
   */
  sampleEpisodeStart(rng: Rng): EpisodeStart {
    const nJ = this.nJ, { lowerLimits: lo, upperLimits: hi } = this.spec;
    const q = Float64Array.from({ length: nJ }, (_, i) =>
      Math.min(hi[i], Math.max(lo[i], this.homePose[i] + this.initStd * rng.normal())),
    );
    const qd = Float64Array.from({ length: nJ }, () => this.initStd * rng.normal());
    let target = Float64Array.from(this.fixedTarget);
    if (this.targetMode === 'random') {
      const [rmin, rmax] = this.randomTargetRadius;
      const theta = 2 * Math.PI * rng.uniform() - Math.PI;
      const rad = Math.sqrt(rmin * rmin + rng.uniform() * (rmax * rmax - rmin * rmin));
      target = Float64Array.of(this.base[0] + rad * Math.cos(theta), this.base[1] + rad * Math.sin(theta));
    }
    this.setTarget(target);
    return { q, qd, target };
  }
}
