/**
 * The reaching task on any serial arm (DESIGN Sec. 4; the paper's "three-joint reacher", Sec. 6,
 * is the planar case): bring the tip frame (`tipLink`) to a target point. The chain runs from the
 * URDF root to the tip: revolute, continuous and prismatic joints with any axis and origin, fixed
 * joints between. The paper gives no reward, horizon or initial-state distribution; the choices
 * here are documented on `ReachTask` and `REACH_DEFAULTS`.
 *
 * This is one implementation of the `Task` interface (src/env/types.ts); other tasks (peg
 * insertion) would be others.
 */
import type { Rng } from '../util/rng.js';
import { KinematicChain, closestReachable } from './kinematics.js';
import { armSpecFromUrdf, type UrdfModel } from './urdf.js';
import type { ArmSpec, EpisodeStart, JointStateRecord, RewardExpansion, Task } from './types.js';

export interface ReachOptions {
  /** Episode length, control steps (fixed, Sec. 5.3). Default 100 (2 s at 20 ms). */
  T?: number;
  /** Home pose [nJ], rad (m for prismatic joints); episodes start around it. Default (0, 0.8, 0.8) for a 3-joint arm. */
  homePose?: readonly number[];
  /** Std of the initial state: q ~ N(home, initStd² I) rad, qd ~ N(0, initStd² I) rad/s. Default 0.02. */
  initStd?: number;
  /** 'fixed' (single target, as in the paper's model-based experiments, Sec. 6.3) or 'random'. */
  targetMode?: 'fixed' | 'random';
  /**
   * Target of 'fixed' mode, m, root frame: [x, y, z]; a planar arm also takes its two in-plane
   * coordinates (see `ReachTask`), the third being the tip's constant one. Default (0.2, -0.02),
   * 0.21 m from the home fingertip of urdf/reacher3.urdf.
   */
  fixedTarget?: readonly number[];
  /**
   * 'random' mode: half-width of the joint-space box around the home pose from which target
   * configurations are drawn (rad; m for prismatic joints), intersected with the soft limits.
   * Default pi (the whole range of a revolute joint).
   */
  randomTargetSpread?: number;
  /** Weight c of the normalised torque penalty, per step. Default 0.01. */
  torquePenalty?: number;
  /** delta, m, of the smoothed distance sqrt(|d|² + delta²) - delta. Default 0.01. */
  distanceSmoothing?: number;
  /** Link whose frame origin is the tip. Default 'fingertip'. */
  tipLink?: string;
  /** Actuated joints, base to tip. Default: the URDF's serial chain. */
  jointNames?: readonly string[];
  /** u_max = this fraction of each joint's URDF effort limit (0 < f <= 1). Default 1. */
  actionEffortFraction?: number;
  /** Soft limits = URDF position limits moved inward by this, rad (m). Default 0. */
  softLimitMargin?: number;
  /** Axis-aligned box [3] + [3], m, root frame, that targets must lie in; [] = unbounded. */
  workspaceMin?: readonly number[];
  workspaceMax?: readonly number[];
}

/** Defaults for urdf/reacher3.urdf (reach 0.34 m, home fingertip at (0.201, 0.186, 0.13) m). */
export const REACH_DEFAULTS = Object.freeze({
  T: 100,
  homePose: Object.freeze([0, 0.8, 0.8]) as readonly number[],
  initStd: 0.02,
  targetMode: 'fixed' as 'fixed' | 'random',
  fixedTarget: Object.freeze([0.2, -0.02]) as readonly number[],
  randomTargetSpread: Math.PI,
  torquePenalty: 0.01,
  distanceSmoothing: 0.01,
  tipLink: 'fingertip',
  actionEffortFraction: 1,
  softLimitMargin: 0,
  workspaceMin: Object.freeze([]) as readonly number[],
  workspaceMax: Object.freeze([]) as readonly number[],
});

/**
 * An invalid task option. `option` names the `ReachOptions` field, `allowed` what it accepts,
 * `given` the value; the config layer reports it under the parameter's own name.
 */
export class TaskOptionError extends RangeError {
  override name = 'TaskOptionError';
  constructor(readonly option: keyof ReachOptions, readonly allowed: string, readonly given: unknown) {
    super(`ReachTask: option '${option}' must be ${allowed}, got ${JSON.stringify(given)}`);
  }
}

function finiteArray(v: unknown, lengths: number[], field: keyof ReachOptions): number[] {
  if (!Array.isArray(v) || !lengths.includes(v.length) || !v.every((e) => typeof e === 'number' && Number.isFinite(e)))
    throw new TaskOptionError(field, `an array of ${lengths.join(' or ')} finite numbers`, v);
  return v as number[];
}

const AXIS_NAMES = ['x', 'y', 'z'];
const fmt = (v: ArrayLike<number>, d = 3) => `[${Array.from(v, (x) => +x.toFixed(d)).join(', ')}]`;

/**
 * Reaching with the tip frame of a serial chain.
 *
 * Observation x [dX] = [cos q_r, sin q_r, q_p, qd, d]: cos and sin of the revolute and continuous
 * joints (rad), the prismatic joints' positions (m), all joint velocities qd [nJ] (rad/s or m/s),
 * and the tip error d = p(q) - target (m, root frame; p from the URDF forward kinematics,
 * `KinematicChain`). d is 3-D (dX = 2 nR + nP + nJ + 3), except on a planar arm: when every
 * revolute joint turns about the same root axis (x, y or z) and every prismatic joint moves
 * perpendicular to it, the tip's coordinate along that axis never changes, and d holds the two
 * in-plane coordinates (x, y about z; x, z about y; y, z about x). A planar arm thus keeps
 * dX = 3 nJ + 2 (11 for urdf/reacher3.urdf): a third error
 * coordinate that is identically zero would add a dead input to the networks and a degenerate
 * dimension to the per-step Gaussian dynamics fit (Sec. 5.3). Targets are always held as 3-D
 * points; a planar arm's 2-D `fixedTarget` takes the tip's constant coordinate as its third.
 *
 * Action u [nJ]: joint torques, N·m (N), bounded by `uMax` = `actionEffortFraction` × the URDF
 * effort limits (the rest of the effort budget is left to gravity compensation, which the safety
 * layer adds on top; see docs/your-arm.md "Gravity, homing and the workspace box").
 *
 * Reward per step (dimensionless; the distance term in m):
 *   r(x, u) = -(sqrt(|d|² + delta²) - delta) - c · sum_i (u_i / uMax_i)²,
 * d read from x, so r depends on x and u only (imagined transitions get their reward from x).
 * The first term is a pseudo-Huber distance: ≈ |d|²/(2 delta) within delta of the target (smooth,
 * so the iLQG expansion is well defined there) and ≈ |d| - delta far from it. The penalty is on the
 * commanded (not clamped) u, keeping r smooth; c = 0.01 costs 0.01 per joint and step at full torque.
 *
 * Targets. 'fixed': one target, checked at construction to be reachable within the soft limits
 * (`closestReachable`) and inside the workspace box. 'random': the tip position of a joint
 * configuration drawn uniformly from [home - spread, home + spread] ∩ soft limits per joint,
 * redrawn until it lies in the workspace box. Chosen over a Cartesian box or annulus because every
 * such target is reachable by construction, on any chain, with the arm inside its soft limits
 * (where the safety supervisor lets it go), and the spread sets how far from home the targets are.
 */
export class ReachTask implements Task {
  readonly dX: number;
  readonly dU: number;
  readonly T: number;
  readonly uMax: Float64Array;
  readonly spec: ArmSpec;
  readonly chain: KinematicChain;
  readonly homePose: Float64Array;
  readonly initStd: number;
  readonly targetMode: 'fixed' | 'random';
  /** [3] m, root frame ('random' mode: the home tip, unused). */
  readonly fixedTarget: Float64Array;
  readonly randomTargetSpread: number;
  readonly torquePenalty: number;
  readonly delta: number;
  /** [nJ] soft position limits (URDF limits moved inward by the margin; ±Infinity for continuous). */
  readonly softLower: Float64Array;
  readonly softUpper: Float64Array;
  /** Root-frame coordinates (0 = x, 1 = y, 2 = z) of the tip error d in x: [0, 1, 2], or 2 of them (planar arm). */
  readonly errorAxes: readonly number[];
  /** [3] m: the tip at the home pose. */
  readonly homeTip: Float64Array;
  /** Workspace box for targets, m, or null when unbounded. */
  readonly workspace: { min: Float64Array; max: Float64Array } | null;
  private readonly nJ: number;
  /** Per joint: true for revolute/continuous (cos, sin), false for prismatic (q). */
  private readonly angular: boolean[];
  /** Offset of qd in x. */
  private readonly qdAt: number;
  /** Offset of d in x. */
  private readonly dAt: number;
  private target: Float64Array;

  /**
   * @param model the parsed URDF
   * @param options see `ReachOptions`; absent or undefined entries take `REACH_DEFAULTS`
   * @throws TaskOptionError naming the option when it is invalid (wrong type or length,
   *   non-finite, home pose outside the soft limits, a fixed target out of reach or outside the
   *   workspace box); UrdfError when the joints or the tip link do not form a serial chain.
   */
  constructor(model: UrdfModel, options: ReachOptions = {}) {
    // Options given as undefined take the default (config loaders pass absent keys that way).
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ReachOptions;
    const o = { ...REACH_DEFAULTS, ...given };
    this.spec = armSpecFromUrdf(model, o.jointNames);
    const nJ = (this.nJ = this.spec.jointNames.length);
    this.chain = new KinematicChain(model, o.tipLink, this.spec.jointNames);
    const types = this.spec.jointNames.map((n) => model.joints.find((j) => j.name === n)!.type);
    this.angular = types.map((t) => t !== 'prismatic');

    if (!(Number.isInteger(o.T) && o.T >= 1)) throw new TaskOptionError('T', 'an integer >= 1', o.T);
    if (!(typeof o.softLimitMargin === 'number' && o.softLimitMargin >= 0)) throw new TaskOptionError('softLimitMargin', 'a number >= 0', o.softLimitMargin);
    this.softLower = Float64Array.from(this.spec.lowerLimits, (l) => l + o.softLimitMargin);
    this.softUpper = Float64Array.from(this.spec.upperLimits, (u) => u - o.softLimitMargin);
    if (given.homePose === undefined && nJ !== 3) throw new TaskOptionError('homePose', `given for a ${nJ}-joint arm (one value per joint)`, undefined);
    const home = finiteArray(o.homePose, [nJ], 'homePose');
    home.forEach((h, i) => {
      if (!(h >= this.softLower[i] && h <= this.softUpper[i]))
        throw new TaskOptionError('homePose', `within the soft limits of ${this.spec.jointNames[i]}, [${this.softLower[i]}, ${this.softUpper[i]}] (URDF limits moved inward by the soft-limit margin ${o.softLimitMargin})`, o.homePose);
    });
    this.homePose = Float64Array.from(home);
    if (!(typeof o.initStd === 'number' && Number.isFinite(o.initStd) && o.initStd >= 0)) throw new TaskOptionError('initStd', 'a finite number >= 0 (rad)', o.initStd);
    if (o.targetMode !== 'fixed' && o.targetMode !== 'random') throw new TaskOptionError('targetMode', "'fixed' or 'random'", o.targetMode);
    if (!(typeof o.torquePenalty === 'number' && Number.isFinite(o.torquePenalty) && o.torquePenalty >= 0))
      throw new TaskOptionError('torquePenalty', 'a finite number >= 0', o.torquePenalty);
    if (!(typeof o.distanceSmoothing === 'number' && Number.isFinite(o.distanceSmoothing) && o.distanceSmoothing > 0))
      throw new TaskOptionError('distanceSmoothing', 'a finite number > 0 (m)', o.distanceSmoothing);
    if (!(typeof o.actionEffortFraction === 'number' && o.actionEffortFraction > 0 && o.actionEffortFraction <= 1))
      throw new TaskOptionError('actionEffortFraction', 'a number > 0 and <= 1', o.actionEffortFraction);
    if (!(typeof o.randomTargetSpread === 'number' && o.randomTargetSpread > 0)) throw new TaskOptionError('randomTargetSpread', 'a number > 0 (rad)', o.randomTargetSpread);
    this.workspace = this.workspaceBox(o.workspaceMin, o.workspaceMax);

    this.errorAxes = this.planarErrorAxes(types);
    this.homeTip = this.chain.position(this.homePose);
    if (this.workspace && !this.inWorkspace(this.homeTip))
      throw new TaskOptionError('workspaceMin', `a box containing the tip at the home pose, ${fmt(this.homeTip)} m (max ${fmt(this.workspace.max)})`, Array.from(this.workspace.min));
    this.fixedTarget = this.checkedFixedTarget(o.fixedTarget, o.targetMode === 'fixed');
    this.randomTargetSpread = o.randomTargetSpread;

    this.dX = 2 * this.angular.filter(Boolean).length + this.angular.filter((a) => !a).length + nJ + this.errorAxes.length;
    this.qdAt = this.dX - nJ - this.errorAxes.length;
    this.dAt = this.dX - this.errorAxes.length;
    this.dU = nJ;
    this.T = o.T;
    this.uMax = Float64Array.from(this.spec.effortLimits, (e) => o.actionEffortFraction * e);
    this.initStd = o.initStd;
    this.targetMode = o.targetMode;
    this.torquePenalty = o.torquePenalty;
    this.delta = o.distanceSmoothing;
    this.target = Float64Array.from(this.fixedTarget);
  }

  private workspaceBox(min: readonly number[], max: readonly number[]): { min: Float64Array; max: Float64Array } | null {
    if (min.length === 0 && max.length === 0) return null;
    const lo = finiteArray(min, [3], 'workspaceMin');
    const hi = finiteArray(max, [3], 'workspaceMax');
    if (!lo.every((v, i) => v < hi[i])) throw new TaskOptionError('workspaceMax', `greater than workspaceMin ${fmt(lo)} on every axis`, max);
    return { min: Float64Array.from(lo), max: Float64Array.from(hi) };
  }

  /** True when p [3] m lies in the workspace box (always, when unbounded). */
  inWorkspace(p: ArrayLike<number>): boolean {
    const w = this.workspace;
    return !w || [0, 1, 2].every((i) => p[i] >= w.min[i] && p[i] <= w.max[i]);
  }

  /** The in-plane axes of a planar chain (see the class docstring), else [0, 1, 2]. */
  private planarErrorAxes(types: string[]): number[] {
    const frames = this.chain.jointFrames(new Float64Array(this.nJ));
    const revolute = frames.filter((_, i) => types[i] !== 'prismatic');
    if (revolute.length === 0) return [0, 1, 2];
    const normal = [0, 1, 2].find((k) => Math.abs(revolute[0].axis[k]) > 1 - 1e-9);
    if (normal === undefined) return [0, 1, 2];
    const planar = frames.every((f, i) => (types[i] === 'prismatic' ? Math.abs(f.axis[normal]) < 1e-9 : Math.abs(f.axis[normal]) > 1 - 1e-9));
    return planar ? [0, 1, 2].filter((k) => k !== normal) : [0, 1, 2];
  }

  /** The fixed target as a 3-D point, checked when it is the one the episodes use. */
  private checkedFixedTarget(v: readonly number[], check: boolean): Float64Array {
    if (!check) return Float64Array.from(this.homeTip); // random mode: not used
    const planar = this.errorAxes.length === 2;
    const t = finiteArray(v, planar ? [2, 3] : [3], 'fixedTarget');
    const target = Float64Array.from(this.homeTip);
    if (t.length === 2) this.errorAxes.forEach((k, i) => (target[k] = t[i]));
    else target.set(t);
    if (planar) {
      const normal = [0, 1, 2].find((k) => !this.errorAxes.includes(k))!;
      if (Math.abs(target[normal] - this.homeTip[normal]) > 1e-6)
        throw new TaskOptionError('fixedTarget', `reachable: the tip of this planar arm stays at ${AXIS_NAMES[normal]} = ${+this.homeTip[normal].toFixed(6)} m (give [${this.errorAxes.map((k) => AXIS_NAMES[k]).join(', ')}], or that ${AXIS_NAMES[normal]})`, v);
    }
    if (!this.inWorkspace(target))
      throw new TaskOptionError('fixedTarget', `inside the workspace box ${fmt(this.workspace!.min)} .. ${fmt(this.workspace!.max)} m`, v);
    const best = closestReachable(this.chain, target, this.softLower, this.softUpper, { start: this.homePose });
    if (best.distance > 1e-3)
      throw new TaskOptionError('fixedTarget', `reachable by ${this.chain.tipLink} within the soft joint limits (the closest point found is ${fmt(best.position)} m, ${best.distance.toFixed(3)} m away)`, v);
    return target;
  }

  private check(v: ArrayLike<number>, n: number, what: string): void {
    if (v.length !== n) throw new RangeError(`ReachTask: ${what} must have ${n} entries, got ${v.length}`);
  }

  /** The current target [3], m (a copy). */
  getTarget(): Float64Array {
    return Float64Array.from(this.target);
  }

  /** Sets the target [3], m, root frame. @throws RangeError on a wrong length or non-finite entries. */
  setTarget(target: Float64Array): void {
    this.check(target, 3, 'target');
    if (!target.every(Number.isFinite)) throw new RangeError(`ReachTask: target must be finite, got ${fmt(target, 6)}`);
    this.target = Float64Array.from(target);
  }

  /** Tip position [3], m, root frame, at joint positions q [nJ] (URDF forward kinematics). */
  tipPosition(q: ArrayLike<number>): Float64Array {
    return this.chain.position(q);
  }

  /** Observation x [dX] for q [nJ], qd [nJ] and a target [3] m (default: the current one). */
  observation(q: ArrayLike<number>, qd: ArrayLike<number>, target: ArrayLike<number> = this.target): Float64Array {
    const nJ = this.nJ;
    this.check(q, nJ, 'q');
    this.check(qd, nJ, 'qd');
    const x = new Float64Array(this.dX);
    const nR = this.angular.filter(Boolean).length;
    let r = 0, p = 2 * nR;
    for (let i = 0; i < nJ; i++) {
      if (this.angular[i]) {
        x[r] = Math.cos(q[i]);
        x[nR + r] = Math.sin(q[i]);
        r++;
      } else x[p++] = q[i];
      x[this.qdAt + i] = qd[i];
    }
    const tip = this.tipPosition(q);
    this.errorAxes.forEach((k, i) => (x[this.dAt + i] = tip[k] - target[k]));
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
      if (k < 0) throw new Error(`ReachTask.observe: joint "${n}" missing from the joint state [${js.name.join(', ')}]`);
      q[i] = js.position[k];
      qd[i] = js.velocity[k];
      if (!Number.isFinite(q[i]) || !Number.isFinite(qd[i]))
        throw new RangeError(`ReachTask.observe: non-finite state for "${n}": q=${q[i]}, qd=${qd[i]}`);
    });
    return this.observation(q, qd);
  }

  /** Tip distance |d| (m) to the target encoded in x [dX]. */
  distance(x: Float64Array): number {
    this.check(x, this.dX, 'x');
    let s = 0;
    for (let i = this.dAt; i < this.dX; i++) s += x[i] * x[i];
    return Math.sqrt(s);
  }

  /** q [nJ] (revolute: atan2(sin q, cos q), in (-pi, pi]) and qd [nJ] from x [dX]. */
  jointsFromObservation(x: Float64Array): { q: Float64Array; qd: Float64Array } {
    this.check(x, this.dX, 'x');
    const nJ = this.nJ, nR = this.angular.filter(Boolean).length;
    const q = new Float64Array(nJ);
    let r = 0, p = 2 * nR;
    for (let i = 0; i < nJ; i++) q[i] = this.angular[i] ? Math.atan2(x[nR + r], x[r++]) : x[p++];
    return { q, qd: x.slice(this.qdAt, this.qdAt + nJ) };
  }

  /** The target [3] m encoded in x: p(q) - d (x fully determines it, whatever the current target). */
  targetFromObservation(x: Float64Array): Float64Array {
    const { q } = this.jointsFromObservation(x);
    const t = this.tipPosition(q);
    this.errorAxes.forEach((k, i) => (t[k] -= x[this.dAt + i]));
    return t;
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
    const { dX, dU, delta, dAt } = this;
    const c = this.torquePenalty;
    let s2 = delta * delta;
    for (let i = dAt; i < dX; i++) s2 += x[i] * x[i];
    const s = Math.sqrt(s2);
    let r = -(s - delta);
    for (let i = 0; i < dU; i++) r -= c * (u[i] / this.uMax[i]) ** 2;
    const rx = new Float64Array(derivatives ? dX : 0), ru = new Float64Array(derivatives ? dU : 0);
    const rxx = new Float64Array(derivatives ? dX * dX : 0), ruu = new Float64Array(derivatives ? dU * dU : 0);
    if (derivatives) {
      const s3 = s * s * s;
      for (let i = dAt; i < dX; i++) {
        rx[i] = -x[i] / s;
        for (let j = dAt; j < dX; j++) rxx[i * dX + j] = (i === j ? -1 / s : 0) + (x[i] * x[j]) / s3;
      }
      for (let i = 0; i < dU; i++) {
        const w = 2 * c / (this.uMax[i] * this.uMax[i]);
        ru[i] = -w * u[i];
        ruu[i * dU + i] = -w;
      }
    }
    return { r, rx, ru, rxx, ruu, rux: new Float64Array(derivatives ? dU * dX : 0) };
  }

  /**
   * Draws an episode start: q ~ N(home, initStd²) clipped to the soft limits, qd ~ N(0, initStd²),
   * and the target (fixed, or random as in the class docstring; `targets: 'random'` draws a random
   * one in either mode). Makes the target the current one.
   * @throws Error when 1000 random targets in a row fall outside the workspace box.
   */
  sampleEpisodeStart(rng: Rng, targets: 'task' | 'random' = 'task'): EpisodeStart {
    const nJ = this.nJ, lo = this.softLower, hi = this.softUpper;
    const q = Float64Array.from({ length: nJ }, (_, i) => Math.min(hi[i], Math.max(lo[i], this.homePose[i] + this.initStd * rng.normal())));
    const qd = Float64Array.from({ length: nJ }, () => this.initStd * rng.normal());
    const target = this.targetMode === 'random' || targets === 'random' ? this.randomTarget(rng) : Float64Array.from(this.fixedTarget);
    this.setTarget(target);
    return { q, qd, target };
  }

  private randomTarget(rng: Rng): Float64Array {
    const s = this.randomTargetSpread;
    for (let tries = 0; tries < 1000; tries++) {
      const q = Float64Array.from(this.homePose, (h, i) => {
        const a = Math.max(this.softLower[i], h - s), b = Math.min(this.softUpper[i], h + s);
        return a + (b - a) * rng.uniform();
      });
      const p = this.tipPosition(q);
      if (this.inWorkspace(p)) return p;
    }
    throw new Error(`ReachTask: 1000 random targets in a row fell outside the workspace box ${fmt(this.workspace!.min)} .. ${fmt(this.workspace!.max)} m; widen it or reduce the random-target spread`);
  }
}
