/**
 * What a user needs to write a params file for an arm (`naf-ros arm`): the config
 * checked as `naf-ros train` checks it (nothing trained, no run folder), and the numbers the
 * choices depend on — the chain base to tip, the tip at the home pose, the reach, gravity torques
 * against the policy's torque bound, the damping the control law injects, the homing gains, and
 * reachable fixed targets near the home tip. Computed with the same builders the training run and
 * the node use (`factory.ts`, `config/control_law.ts`), so what it prints is what they will do.
 */
import type { NafConfig } from '../config/schema.js';
import { checkNodeDamping, speedLimits, workingPoses } from '../config/control_law.js';
import { derivedHomingGains } from '../control/pd_homing.js';
import { totalDamping, type DampingPlan } from '../control/damping_injection.js';
import { closestReachable } from '../env/kinematics.js';
import type { ReachTask } from '../env/reach_task.js';
import { jointPath, type UrdfJointType } from '../env/urdf.js';
import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';
import { Rng } from '../util/rng.js';
import { armCollisionLine } from './arm_collision.js';
import { buildArmDynamics, buildDampingPlan, buildSpec, buildTask, loadConfigUrdf } from './factory.js';

export interface ArmJointReport {
  name: string;
  type: UrdfJointType;
  /** rad (m); ±Infinity for continuous joints. */
  lower: number;
  upper: number;
  /** N·m (N), URDF. */
  effort: number;
  /** rad/s (m/s), the speed limit the supervisor enforces (min of URDF and safety.velocity_limit). */
  velocity: number;
  /** N·m·s/rad, URDF `<dynamics damping>`. */
  urdfDamping: number;
  /** N·m·s/rad, injected D (0 in mode none). */
  injectedDamping: number;
  /** rad/s: steady speed at the full policy torque, u_max / (b + D) (Infinity without damping). */
  steadySpeed: number;
  /** N·m: the policy's torque bound u_max. */
  uMax: number;
  /** N·m: g(q_home) and max |g(q)| over the working poses (0 with gravity compensation none: the learner carries it). */
  gravityHome: number;
  gravityMax: number;
  /** s: velocity time constant m_j / (b + D) at home, m_j = 1 / [M(q_home)⁻¹]_jj. */
  timeConstant: number;
  /** Homing PD gains in force (given or derived). */
  homingKp: number;
  homingKd: number;
}

export interface TargetSuggestion {
  /** [3] m, URDF root frame. */
  target: number[];
  /** m from the home tip. */
  distance: number;
  /** rad: largest joint motion from home to reach it (inverse kinematics started at home). */
  jointMotion: number;
}

export interface ArmReport {
  urdf: string;
  root: string;
  tipLink: string;
  joints: ArmJointReport[];
  /** [3] m: the tip at the home pose. */
  homeTip: number[];
  /** m: the largest distance of the tip from the first joint's origin over sampled configurations. */
  reach: number;
  /** m: the tip's distance to `task.fixed_target` at home (fixed mode). */
  targetDistance: number | null;
  /** The damping term of the control law (`node` mode: `problems` says when its check fails). */
  damping: DampingPlan;
  gravityCompensation: NafConfig['safety']['gravity_compensation'];
  /**
   * Largest `task.action_effort_fraction` with u_max + max |g| within the effort limit on every joint
   * (1 when gravity does not load the arm): above it the torque clamp cuts the policy's action.
   */
  maxEffortFraction: number;
  /** rad: how far a joint moves in one episode at its steady speed, κ v T dt (the smallest over joints). */
  episodeTravel: number;
  /** m/rad: the smallest singular value of the tip's position Jacobian at home (in-plane rows on a planar arm). */
  homeDexterity: number;
  targets: TargetSuggestion[];
  /** The embedded simulator's collision geometry and the contacts at home (`armCollisionLine`). */
  collision: string;
  /** Problems found (refused configuration, effort budget): empty when the params file is ready. */
  problems: string[];
}

const DISTANCES = [0.1, 0.2, 0.3];
/** m/rad: below this smallest singular value of the tip Jacobian a home pose counts as near-singular. */
const MIN_DEXTERITY = 0.02;

/** Smallest singular value of the tip's position Jacobian at q (rows of the task's error axes), m/rad. */
export function sigmaMin(task: ReachTask, q: ArrayLike<number>): number {
  const n = task.dU;
  const J = task.chain.jacobian(q);
  const rows = task.errorAxes.map((k) => Array.from(J.subarray(k * n, (k + 1) * n)));
  const m = new Matrix(rows);
  const e = new EigenvalueDecomposition(m.mmul(m.transpose()), { assumeSymmetric: true });
  return Math.sqrt(Math.max(0, Math.min(...e.realEigenvalues)));
}

/**
 * The report for a validated config (its URDF, joints and task must already pass `armIssues`).
 * @throws as the builders (UrdfError, ConfigError for an unfit joint_damping).
 */
export async function armReport(config: NafConfig): Promise<ArmReport> {
  const urdf = loadConfigUrdf(config);
  const task = buildTask(config, urdf);
  const spec = buildSpec(config, urdf);
  const plan = buildDampingPlan(config, urdf, task);
  const dynamics = await buildArmDynamics(config);
  try {
    const problems: string[] = [];
    try {
      checkNodeDamping(config, plan, dynamics);
    } catch (e) {
      problems.push((e as Error).message.replace(/^invalid configuration in configuration: /, ''));
    }
    const home = Float64Array.from(config.task.home_pose);
    const dt = 1 / config.control_rate_hz;
    const M = dynamics.massMatrix(home);
    const B = totalDamping(plan);
    const derived = derivedHomingGains(M, B, dt);
    const s = config.safety;
    const kp = (j: number) => (s.homing_kp > 0 ? s.homing_kp : derived.kp[j]);
    const kd = (j: number) => (s.homing_kd > 0 ? s.homing_kd : derived.kd[j]);
    const poses = workingPoses(config, spec, 32);
    const loaded = config.safety.gravity_compensation !== 'none';
    const gHome = dynamics.gravity(home);
    const gMax = new Float64Array(spec.jointNames.length);
    for (const q of poses) dynamics.gravity(q).forEach((g, j) => (gMax[j] = Math.max(gMax[j], Math.abs(g))));
    const n = spec.jointNames.length;
    const Minv = invertedDiagonal(M, n);
    const v = speedLimits(config, spec);
    const joints: ArmJointReport[] = spec.jointNames.map((name, j) => ({
      name, type: urdf.joints.find((k) => k.name === name)!.type,
      lower: spec.lowerLimits[j], upper: spec.upperLimits[j], effort: spec.effortLimits[j], velocity: v[j],
      urdfDamping: plan.urdf[j], injectedDamping: plan.D[j],
      steadySpeed: B[j] > 0 ? task.uMax[j] / B[j] : Infinity, uMax: task.uMax[j],
      gravityHome: gHome[j], gravityMax: gMax[j],
      timeConstant: B[j] > 0 ? 1 / (Minv[j] * B[j]) : Infinity,
      homingKp: kp(j), homingKd: kd(j),
    }));
    // With gravity compensation the published total u + g(q) must fit the effort limit.
    const maxFraction = loaded ? Math.min(1, ...joints.map((j) => Math.max(0, (j.effort - j.gravityMax) / j.effort))) : 1;
    if (loaded) {
      const over = joints.filter((j) => j.uMax + j.gravityMax > Math.min(j.effort, s.max_effort) * (1 + 1e-9));
      if (over.length)
        problems.push(`task.action_effort_fraction: ${config.task.action_effort_fraction} leaves no room for gravity on ${over.map((j) => `${j.name} (u_max ${fmt(j.uMax)} + |g| up to ${fmt(j.gravityMax)} > ${fmt(Math.min(j.effort, s.max_effort))} N·m)`).join(', ')}: the torque clamp will cut the policy's action; set it <= ${floor2(maxFraction)}`);
    } else if (Math.max(...gMax) > 0.05 * Math.min(...joints.map((j) => j.uMax))) {
      problems.push(`safety.gravity_compensation: none, but gravity loads this arm (|g| up to ${fmt(Math.max(...gMax))} N·m, u_max ${joints.map((j) => fmt(j.uMax)).join(', ')} N·m): set model (or hardware where the driver compensates)`);
    }
    const travel = Math.min(...joints.map((j) => Math.min(j.steadySpeed, j.velocity) * task.T * dt));
    const collision = await armCollisionLine(config);
    // Contacts at home between links the chain moves (not, e.g., two closed fingers of a side branch).
    const chainLinks = new Set(jointPath(urdf, config.task.tip_link).flatMap((j) => [j.parent, j.child]));
    const pairs = /IN CONTACT at the home pose: (.*?) \(/.exec(collision)?.[1].split(', ') ?? [];
    const onChain = pairs.filter((p) => p.split('–').some((l) => chainLinks.has(l)));
    if (onChain.length)
      problems.push(`task.home_pose: the arm's collision geometry is in contact at home (${onChain.join(', ')}): MuJoCo pushes the links apart from the first step; choose a pose without contact (or check the URDF's collision shapes)`);
    const dexterity = sigmaMin(task, home);
    if (dexterity < MIN_DEXTERITY)
      problems.push(`task.home_pose: the tip's Jacobian is near-singular at home (smallest singular value ${fmt(dexterity)} m/rad < ${MIN_DEXTERITY}): some directions need large joint motions or none reaches them; choose a bent working pose`);
    return {
      urdf: config.urdf_path, root: urdf.root, tipLink: config.task.tip_link, joints,
      homeTip: Array.from(task.homeTip), reach: reach(task, spec.lowerLimits, spec.upperLimits),
      targetDistance: config.task.target_mode === 'fixed' ? dist(task.fixedTarget, task.homeTip) : null,
      damping: plan, gravityCompensation: s.gravity_compensation, maxEffortFraction: maxFraction,
      episodeTravel: travel, homeDexterity: dexterity, targets: suggestTargets(task, home),
      collision, problems,
    };
  } finally {
    dynamics.dispose();
  }
}

const fmt = (x: number) => String(+x.toPrecision(3));
const floor2 = (x: number) => Math.floor(x * 20) / 20;
const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** diag(M⁻¹) [n] for a symmetric positive definite M [n*n] row-major. */
function invertedDiagonal(M: Float64Array, n: number): Float64Array {
  const Mi = inverse(new Matrix(Array.from({ length: n }, (_, i) => Array.from(M.subarray(i * n, (i + 1) * n)))));
  return Float64Array.from({ length: n }, (_, i) => Mi.get(i, i));
}

/** Largest tip distance from the first joint's origin over 4000 seeded configurations within the limits, m. */
function reach(task: ReachTask, lower: Float64Array, upper: Float64Array): number {
  const rng = new Rng('arm-report-reach');
  const n = lower.length;
  const origin = task.chain.jointFrames(new Float64Array(n))[0].origin;
  let best = 0;
  for (let k = 0; k < 4000; k++) {
    const q = Float64Array.from({ length: n }, (_, i) => {
      const lo = Number.isFinite(lower[i]) ? lower[i] : -Math.PI, hi = Number.isFinite(upper[i]) ? upper[i] : Math.PI;
      return lo + (hi - lo) * rng.uniform();
    });
    best = Math.max(best, dist(task.chain.position(q), origin));
  }
  return best;
}

/**
 * Fixed targets at 0.1, 0.2 and 0.3 m from the home tip that the tip reaches within the soft
 * limits and the workspace box, found by inverse kinematics from the home pose along 26 directions
 * (the in-plane ones on a planar arm); per distance the two needing the least joint motion.
 */
export function suggestTargets(task: ReachTask, home: Float64Array): TargetSuggestion[] {
  const dirs: number[][] = [];
  for (const x of [-1, 0, 1]) for (const y of [-1, 0, 1]) for (const z of [-1, 0, 1]) {
    if (x === 0 && y === 0 && z === 0) continue;
    const d = [x, y, z];
    if ([0, 1, 2].some((k) => !task.errorAxes.includes(k) && d[k] !== 0)) continue;
    const len = Math.hypot(x, y, z);
    dirs.push(d.map((c) => c / len));
  }
  const out: TargetSuggestion[] = [];
  for (const r of DISTANCES) {
    const found: TargetSuggestion[] = [];
    for (const d of dirs) {
      const target = Float64Array.from(task.homeTip, (p, k) => p + r * d[k]);
      if (!task.inWorkspace(target)) continue;
      const best = closestReachable(task.chain, target, task.softLower, task.softUpper, { start: home, starts: 0, tolerance: 1e-4 });
      if (best.distance > 1e-3) continue;
      found.push({ target: Array.from(target, (v) => +v.toFixed(3)), distance: r, jointMotion: Math.max(...best.q.map((q, i) => Math.abs(q - home[i]))) });
    }
    found.sort((a, b) => a.jointMotion - b.jointMotion);
    out.push(...found.slice(0, 2));
  }
  return out;
}
