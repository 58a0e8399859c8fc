/**
 * `naf-ros arm`: help writing a params file for an arm. With `--config <file>` it
 * checks the file as `naf-ros train` would (nothing trained, no run folder written) and prints what
 * the choices depend on; with `--urdf <file> --tip <link>` it starts from the URDF alone and also
 * prints a params file to begin with; `--config` with `--urdf` checks the params file against another
 * copy of the arm's URDF (the launch files pass the expanded robot description). `--json` prints the
 * report as JSON (the launch files read the injected damping from it).
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import yaml from 'js-yaml';
import { armIssues, resolveUrdfPath } from '../config/arm_checks.js';
import { ConfigError, loadParamsFile, parseConfig } from '../config/load.js';
import type { NafConfig } from '../config/schema.js';
import { jointPath, parseUrdf } from '../env/urdf.js';
import { armReport, sigmaMin, type ArmReport } from '../training/arm_report.js';
import { buildTask } from '../training/factory.js';
import { Rng } from '../util/rng.js';
import { NAF_ROS } from './command_hint.js';

export interface ArmOptions { config?: string; urdf?: string; tip?: string; json?: boolean }

const f = (x: number, d = 3) => (Number.isFinite(x) ? String(+x.toPrecision(d)) : x > 0 ? 'inf' : '-inf');
const vec = (v: ArrayLike<number>) => `[${Array.from(v, (x) => +x.toFixed(3)).join(', ')}]`;

/** The config of `opts` (a params file, or a URDF and tip with defaults the report refines). */
export function armConfig(opts: ArmOptions): { config: NafConfig; fromUrdf: boolean } {
  if (opts.config) {
    if (opts.tip) throw new Error('naf-ros arm: --tip goes with --urdf alone; with --config the tip is task.tip_link');
    if (!opts.urdf) return { config: loadParamsFile(opts.config), fromUrdf: false };
    // --config with --urdf: the params file for another copy of the arm's URDF (the launch files
    // pass the expanded robot description this way).
    const raw = loadParamsFile(opts.config, 'naf_trainer', { checkArm: false });
    const config = parseConfig({ ...raw, urdf_path: resolve(opts.urdf) }, `${opts.config} with --urdf ${opts.urdf}`);
    const issues = armIssues(config);
    if (issues.length) throw new ConfigError(`${opts.config} with --urdf ${opts.urdf}`, issues);
    return { config, fromUrdf: false };
  }
  if (!opts.urdf || !opts.tip) throw new Error('naf-ros arm: give --config <params file>, or --urdf <file> --tip <link>');
  const path = resolve(opts.urdf);
  const urdf = parseUrdf(readFileSync(path, 'utf8'));
  if (!urdf.links.has(opts.tip)) throw new Error(`naf-ros arm: --tip ${opts.tip} is not a link of ${opts.urdf}`);
  const chain = jointPath(urdf, opts.tip).filter((j) => j.type !== 'fixed');
  if (chain.length === 0) throw new Error(`naf-ros arm: no movable joint between the root "${urdf.root}" and --tip ${opts.tip}`);
  const margin = 0.1;
  // Home: every joint at 0, moved inside its soft limits (a start; the user picks a working pose).
  const home = chain.map((j) => {
    const lo = j.type === 'continuous' ? -Infinity : j.limit!.lower + margin, hi = j.type === 'continuous' ? Infinity : j.limit!.upper - margin;
    return +Math.min(hi, Math.max(lo, 0)).toFixed(4);
  });
  const raw = {
    urdf_path: path, joints: chain.map((j) => j.name),
    task: { tip_link: opts.tip, home_pose: home, target_mode: 'random' },
    safety: { gravity_compensation: 'model', soft_limit_margin: margin },
  };
  const first = parseConfig(raw, `--urdf ${opts.urdf}`);
  const issues = armIssues(first);
  if (issues.length) throw new ConfigError(`--urdf ${opts.urdf} --tip ${opts.tip}`, issues);
  const config = parseConfig({ ...raw, task: { ...raw.task, home_pose: dexterousHome(first) } }, `--urdf ${opts.urdf}`);
  return { config, fromUrdf: true };
}

/**
 * A home pose to start from: of the zero pose and 300 seeded poses within ±1 rad of it (inside the
 * soft limits), the one whose tip Jacobian has the largest smallest singular value, with the tip no
 * lower than the first joint's origin (an arm on a table or floor). A starting point: the user
 * picks the working pose.
 */
function dexterousHome(config: NafConfig): number[] {
  const task = buildTask(config);
  const zero = Float64Array.from(config.task.home_pose);
  const z0 = task.chain.jointFrames(zero)[0].origin[2];
  const rng = new Rng('arm-home');
  let best = zero, score = sigmaMin(task, zero);
  for (let k = 0; k < 300; k++) {
    const q = Float64Array.from(zero, (h, j) => {
      const lo = Math.max(task.softLower[j], h - 1), hi = Math.min(task.softUpper[j], h + 1);
      return lo + (hi - lo) * rng.uniform();
    });
    const s = sigmaMin(task, q);
    if (s > score && task.tipPosition(q)[2] >= z0) [best, score] = [q, s];
  }
  return Array.from(best, (v) => +v.toFixed(3));
}

/** Runs the command: prints the report (text or JSON) to stdout. */
export async function armCommand(opts: ArmOptions): Promise<ArmReport> {
  const first = armConfig(opts);
  const { fromUrdf } = first;
  let config = first.config;
  let r = await armReport(config);
  if (fromUrdf) {
    // From the URDF alone: gravity compensation where gravity loads the arm, and a cautious torque
    // bound (0.2 of the effort, within the room gravity leaves), then the report of that.
    const loaded = r.joints.some((j) => j.gravityMax > 0.05 * j.uMax);
    config = parseConfig({
      ...config, task: { ...config.task, action_effort_fraction: loaded ? Math.min(0.2, Math.floor(r.maxEffortFraction * 20) / 20) : 1 },
      safety: { ...config.safety, gravity_compensation: loaded ? 'model' : 'none' },
    }, `--urdf ${opts.urdf}`);
    r = await armReport(config);
  }
  if (opts.json) {
    console.log(JSON.stringify({ ...r, damping: { ...r.damping, D: Array.from(r.damping.D), urdf: Array.from(r.damping.urdf), speedLimit: Array.from(r.damping.speedLimit) } }, null, 1));
    return r;
  }
  console.log(formatArmReport(r, config));
  if (fromUrdf) console.log(`\nA params file to start from (home_pose: the most dexterous of 300 poses near zero, tip above the first joint — check it is a safe working pose for your arm):\n\n${starterParams(r, config)}`);
  return r;
}

/** The text report. */
export function formatArmReport(r: ArmReport, config: NafConfig): string {
  const c = config;
  const lines: string[] = [];
  const urdf = relative(process.cwd(), resolveUrdfPath(r.urdf)) || r.urdf;
  lines.push(`arm ${urdf}: root "${r.root}" -> tip "${r.tipLink}", ${r.joints.length} joints, ${c.control_rate_hz} Hz, T = ${c.task.horizon} steps (checked as naf-ros train checks it)`);
  const head = ['joint', 'type', 'limits rad', 'effort', 'v_max', 'u_max', 'g(home)', 'max|g|', 'b URDF', 'D inj.', 'steady', 'tau s', 'homing kp/kd'];
  const rows = r.joints.map((j) => [
    j.name, j.type, `${f(j.lower)} .. ${f(j.upper)}`, f(j.effort), f(j.velocity), f(j.uMax), f(j.gravityHome), f(j.gravityMax),
    f(j.urdfDamping), f(j.injectedDamping), `${f(j.steadySpeed)} rad/s`, f(j.timeConstant, 2), `${f(j.homingKp)}/${f(j.homingKd)}`,
  ]);
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  const line = (cells: string[]) => cells.map((x, k) => x.padEnd(w[k])).join('  ').trimEnd();
  lines.push(line(head), ...rows.map(line));
  lines.push(`units: effort, u_max, g N·m; v_max (supervisor speed limit) rad/s; b, D N·m·s/rad; steady = u_max / (b + D); tau = m/(b + D) at home`);
  lines.push(r.collision);
  lines.push(`tip at home ${vec(r.homeTip)} m (root frame); reach ${f(r.reach)} m from the first joint; dexterity at home (smallest singular value of the tip Jacobian) ${f(r.homeDexterity)} m/rad`);
  if (r.targetDistance !== null) lines.push(`task.fixed_target ${vec(c.task.fixed_target)} is ${f(r.targetDistance)} m from the home tip`);
  const p = r.damping;
  const how = p.derived ? `derived: D = max(0, u_max / (${p.speedFraction} v_max) − b)` : 'given (safety.joint_damping)';
  if (p.mode === 'hardware') lines.push(`damping injection hardware, D ${how}: set it in the robot's own loop — joint-impedance mode with stiffness 0 and damping D = ${vec(p.D)} N·m·s/rad; the embedded arm, the MuJoCo bridge and gazebo.launch.py simulate it in the joints`);
  else if (p.mode === 'node') lines.push(`damping injection node, D ${how}: naf_ros adds −D q̇ = ${vec(p.D)} N·m·s/rad × q̇ to every command at ${c.control_rate_hz} Hz`);
  else lines.push('damping injection none: the joints have only the URDF damping b');
  lines.push(`gravity compensation ${r.gravityCompensation}; action_effort_fraction ${c.task.action_effort_fraction}: u_max + max|g| stays within the effort limits up to ${Math.floor(r.maxEffortFraction * 20) / 20}`);
  lines.push(`one episode (${f(c.task.horizon / c.control_rate_hz)} s) at the steady speed moves a joint up to ${f(r.episodeTravel)} rad`);
  lines.push(r.targets.length ? 'reachable fixed targets (inverse kinematics from home, within the soft limits and the workspace box):' : 'no reachable target found at 0.1-0.3 m from the home tip: move the home pose or widen the workspace box');
  for (const t of r.targets) lines.push(`  task.fixed_target: ${vec(t.target)}   ${f(t.distance)} m from the home tip, joints move up to ${f(t.jointMotion, 2)} rad`);
  lines.push(r.problems.length ? `problems:\n${r.problems.map((x) => `  - ${x}`).join('\n')}` : `no problems found: ${NAF_ROS} train --config <this params file>`);
  return lines.join('\n');
}

/** A params file for a config built from `--urdf/--tip`, with the report's suggestions filled in. */
function starterParams(r: ArmReport, c: NafConfig): string {
  const target = r.targets.find((t) => t.distance === 0.2) ?? r.targets[0];
  const params = {
    naf_trainer: {
      ros__parameters: {
        urdf_path: c.urdf_path, joints: c.joints,
        task: {
          tip_link: c.task.tip_link, home_pose: c.task.home_pose, target_mode: 'fixed',
          fixed_target: target ? target.target : r.homeTip.map((v) => +v.toFixed(3)), action_effort_fraction: c.task.action_effort_fraction,
        },
        // The learner settings measured on the shipped 6-DoF arm (config/ur5e.yaml): I = 1, so
        // I·(l + 1) = 11 updates per step, what a 2-core PC sustains at 50 Hz on the arm (the
        // paper's I = 5 is 55 per step, 2,750 updates/s: the node would shed most of them).
        agent: { updates_per_step: 1, policy_averaging: 0.1, learner_threads: 2 },
        training: { episodes: 150 },
        safety: { gravity_compensation: c.safety.gravity_compensation, soft_limit_margin: c.safety.soft_limit_margin },
      },
    },
  };
  return yaml.dump(params, { flowLevel: 4, lineWidth: 120 });
}
