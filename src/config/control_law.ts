/**
 * The control law around the learner, from a config: u_total = u + g(q) − D q̇ and the safety
 * supervisor's rules, built the same way for the embedded training run (`training/factory.ts`),
 * the ROS node (`ros/trainer/naf_trainer_node.ts`), deploy (`naf-ros run`) and `naf-ros arm`, so that a
 * policy meets the same law wherever it runs: under another law it would meet another plant.
 */
import { dampingPlan, DampingInjection, nodeDampingCheck, NODE_DAMPING_MAX, type DampingPlan } from '../control/damping_injection.js';
import { GravityCompensation } from '../control/gravity_compensation.js';
import type { ArmDynamics, ArmSpec } from '../env/types.js';
import type { UrdfModel } from '../env/urdf.js';
import type { SupervisorOptions, TipKinematics } from '../safety/supervisor.js';
import { Rng } from '../util/rng.js';
import { ConfigError } from './config_error.js';
import type { NafConfig } from './schema.js';

/** [nJ] rad/s: the speed limits the supervisor enforces, min(URDF `<limit velocity>`, `safety.velocity_limit`). */
export function speedLimits(config: NafConfig, spec: ArmSpec): Float64Array {
  return Float64Array.from(spec.velocityLimits, (v) => Math.min(v > 0 ? v : Infinity, config.safety.velocity_limit));
}

/** [nJ] N·m·s/rad: the URDF's `<dynamics damping>` of the config's joints. */
export function urdfDamping(urdf: UrdfModel, joints: readonly string[]): Float64Array {
  return Float64Array.from(joints, (n) => urdf.joints.find((j) => j.name === n)?.dynamics.damping ?? 0);
}

/**
 * The damping plan of a config (`safety.damping_injection`, `safety.joint_damping`,
 * `safety.damping_speed_fraction`; src/control/damping_injection.ts).
 * @param uMax [nJ] N·m the task's policy torque bound
 * @throws ConfigError naming `safety.joint_damping` when it does not fit the joints.
 */
export function configDampingPlan(config: NafConfig, urdf: UrdfModel, spec: ArmSpec, uMax: Float64Array): DampingPlan {
  const s = config.safety;
  try {
    return dampingPlan({
      mode: s.damping_injection, given: s.joint_damping, uMax, speedLimit: speedLimits(config, spec),
      urdfDamping: urdfDamping(urdf, spec.jointNames), speedFraction: s.damping_speed_fraction,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError('configuration', [e.message.replace(/^derivedDamping: /, 'safety.joint_damping (derived): ')]);
    throw e;
  }
}

/**
 * Joint configurations [nJ] rad the sampled-data check covers: the home pose and `n` poses drawn
 * uniformly within ±1 rad (m) of it, inside the soft limits (fixed seed: the check is repeatable).
 */
export function workingPoses(config: NafConfig, spec: ArmSpec, n = 16): Float64Array[] {
  const home = Float64Array.from(config.task.home_pose);
  const m = config.safety.soft_limit_margin;
  const rng = new Rng('damping-check');
  const poses = [home];
  for (let k = 0; k < n; k++) {
    poses.push(Float64Array.from(home, (h, j) => {
      const lo = Math.max(spec.lowerLimits[j] + m, h - 1), hi = Math.min(spec.upperLimits[j] - m, h + 1);
      return lo + (hi - lo) * rng.uniform();
    }));
  }
  return poses;
}

/**
 * Refuses `damping_injection: node` where the damping sampled at the control rate is not stable
 * (`nodeDampingCheck` over `workingPoses`); other modes pass.
 * @throws ConfigError naming `safety.damping_injection`, the worst joint, its sampled rate and the
 *   largest D the node could apply there, and the alternative (`hardware`).
 */
export function checkNodeDamping(config: NafConfig, plan: DampingPlan, dynamics: Pick<ArmDynamics, 'massMatrix' | 'spec'>): void {
  if (plan.mode !== 'node') return;
  const dt = 1 / config.control_rate_hz;
  const c = nodeDampingCheck(plan.D, (q) => dynamics.massMatrix(q), workingPoses(config, dynamics.spec), dt);
  if (c.ok) return;
  const names = dynamics.spec.jointNames;
  const bad = names.map((n, j) => ({ n, j })).filter(({ j }) => c.perJoint[j] > NODE_DAMPING_MAX);
  const list = (bad.length ? bad : names.map((n, j) => ({ n, j }))).map(({ n, j }) =>
    `${n} (D ${+plan.D[j].toPrecision(3)}, dt·D/m ${+c.perJoint[j].toPrecision(3)}, at most ${+c.maxStable[j].toPrecision(3)} N·m·s/rad)`).join(', ');
  throw new ConfigError('configuration', [
    `safety.damping_injection: node adds −D q̇ at ${config.control_rate_hz} Hz, stable only while dt·λ_max(M⁻¹D) <= ${NODE_DAMPING_MAX}; ` +
    `got ${+c.worst.toPrecision(3)} on this arm: ${list}. Use hardware (the robot's joint-impedance loop, or the simulator's joints), ` +
    'a higher control_rate_hz, or a smaller safety.joint_damping',
  ]);
}

/**
 * The supervisor options of a config (DESIGN Sec. 5): limits, the p cap, gravity compensation,
 * damping injection and the workspace box.
 * @param dynamics the arm's rigid-body model (needed for gravity `model` and a workspace box)
 * @throws RangeError when gravity `model` or a workspace box lack `dynamics` (or `tip`).
 */
export function supervisorOptions(config: NafConfig, spec: ArmSpec, plan: DampingPlan, dynamics: ArmDynamics | null, tip: TipKinematics | null): SupervisorOptions {
  const s = config.safety;
  const bounded = s.workspace_min.length > 0;
  if (bounded && !(dynamics && tip)) throw new RangeError('a workspace box (safety.workspace_min/max) needs the arm\'s rigid-body model and tip kinematics');
  return {
    maxEffort: s.max_effort, stateTimeoutMs: s.state_timeout_ms, velocityLimit: s.velocity_limit,
    softLimitMargin: s.soft_limit_margin, maxOnPolicyFraction: config.model_based.max_on_policy_fraction,
    gravity: new GravityCompensation(s.gravity_compensation, dynamics, spec.jointNames.length),
    damping: new DampingInjection(plan),
    workspace: bounded ? { min: Float64Array.from(s.workspace_min), max: Float64Array.from(s.workspace_max), tip: tip!, dynamics: dynamics! } : undefined,
  };
}
