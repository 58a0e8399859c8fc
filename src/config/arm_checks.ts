/**
 * Checks of a configuration against the arm it names (docs/your-arm.md): every mistake a
 * user makes while bringing an arm — a URDF path that does not exist, a xacro file (xacro elements
 * or substitutions; not the `xmlns:xacro` declaration generated URDFs keep), joints or a tip link
 * not in the URDF, joints that are not the serial chain to the tip, a `mesh_search_path` entry that
 * is no folder, links without inertials, a home pose outside the soft limits, a target out of
 * reach, a control rate the simulator cannot step — becomes one line naming the parameter as the user writes it (`task.fixed_target`), what
 * is allowed and what was given. `loadParamsFile` runs these checks, so `naf-ros train` stops
 * before it creates a run folder.
 *
 * Also the one mapping from the config to the reach task's options (`reachOptions`), so the task's
 * own option errors (`TaskOptionError`) are reported under the parameter names.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jointPath, parseUrdf, UrdfError, type UrdfModel } from '../env/urdf.js';
import { ReachTask, TaskOptionError, type ReachOptions } from '../env/reach_task.js';
import { PHYSICS_TIMESTEP_S } from '../env/mujoco_arm.js';
import { ConfigError } from './config_error.js';
import type { NafConfig } from './schema.js';

/** The naf_ros folder (package root: `urdf/`, `config/`, `src/`). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `urdf_path` as a file path: absolute as given, relative to the naf_ros folder otherwise (a path
 * written in a params file arrives here already resolved against the file's folder).
 */
export function resolveUrdfPath(urdfPath: string): string {
  return resolve(PROJECT_ROOT, urdfPath);
}

/** The config parameter of each reach-task option. */
export const TASK_OPTION_PARAMETERS: Readonly<Record<keyof ReachOptions, string>> = {
  T: 'task.horizon',
  homePose: 'task.home_pose',
  initStd: 'task.init_std',
  targetMode: 'task.target_mode',
  fixedTarget: 'task.fixed_target',
  randomTargetSpread: 'task.random_target_spread',
  torquePenalty: 'task.torque_penalty',
  distanceSmoothing: 'task.distance_smoothing',
  tipLink: 'task.tip_link',
  jointNames: 'joints',
  actionEffortFraction: 'task.action_effort_fraction',
  softLimitMargin: 'safety.soft_limit_margin',
  workspaceMin: 'safety.workspace_min',
  workspaceMax: 'safety.workspace_max',
};

/** The reach task's options from a config. */
export function reachOptions(config: NafConfig): ReachOptions {
  const t = config.task, s = config.safety;
  return {
    jointNames: config.joints, T: t.horizon, homePose: t.home_pose, initStd: t.init_std, targetMode: t.target_mode,
    fixedTarget: t.fixed_target, randomTargetSpread: t.random_target_spread, torquePenalty: t.torque_penalty,
    distanceSmoothing: t.distance_smoothing, tipLink: t.tip_link, actionEffortFraction: t.action_effort_fraction,
    softLimitMargin: s.soft_limit_margin, workspaceMin: s.workspace_min, workspaceMax: s.workspace_max,
  };
}

/** A task option error as a config issue line. */
export function taskIssue(e: TaskOptionError): string {
  return `${TASK_OPTION_PARAMETERS[e.option]}: must be ${e.allowed}; got ${JSON.stringify(e.given)}`;
}

/**
 * The reach task of a config on its URDF.
 * @throws ConfigError naming the parameter for an invalid task option or chain.
 */
export function buildReachTask(config: NafConfig, urdf: UrdfModel): ReachTask {
  try {
    return new ReachTask(urdf, reachOptions(config));
  } catch (e) {
    if (e instanceof TaskOptionError) throw new ConfigError('configuration', [taskIssue(e)]);
    if (e instanceof UrdfError) throw new ConfigError('configuration', [`joints, task.tip_link: must be the serial chain from the URDF root to the tip link; ${e.message}`]);
    throw e;
  }
}

const list = (a: readonly string[]) => a.map((n) => `"${n}"`).join(', ');
const isFolder = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Namespace URIs xacro is declared with (`xmlns:xacro="..."`). */
const XACRO_NAMESPACE = /^https?:\/\/(www\.)?ros\.org\/wiki\/xacro\/?$/;

/**
 * What makes `text` a xacro file rather than a plain URDF, or null: a xacro element
 * (`<xacro:macro>`, `<xacro:include>`, `<xacro:property>`, ... under the `xacro` prefix or any
 * prefix bound to xacro's namespace) or a `${...}` / `$(...)` substitution in an attribute value.
 * Declaring the namespace alone (`<robot xmlns:xacro="...">`, kept by most xacro-generated URDFs)
 * is not xacro. Comments are not looked at. Text that is not well-formed XML gives null (the URDF
 * parser reports it).
 */
export function xacroMarker(text: string): string | null {
  let doc: unknown;
  try {
    doc = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false }).parse(text);
  } catch {
    return null;
  }
  const prefixes = new Set(['xacro']);
  let found: string | null = null;
  const walk = (nodes: unknown, collect: boolean): void => {
    if (!Array.isArray(nodes) || found) return;
    for (const node of nodes as Record<string, unknown>[]) {
      const attrs = (node[':@'] ?? {}) as Record<string, unknown>;
      const tag = Object.keys(node).find((k) => k !== ':@') ?? '';
      for (const [name, value] of Object.entries(attrs)) {
        if (collect && name.startsWith('xmlns:') && XACRO_NAMESPACE.test(String(value))) prefixes.add(name.slice(6));
        if (!collect && !name.startsWith('xmlns') && /\$[{(]/.test(String(value))) found ??= `${value} in <${tag} ${name}>`;
      }
      const prefix = tag.includes(':') ? tag.slice(0, tag.indexOf(':')) : '';
      if (!collect && prefixes.has(prefix)) found ??= `<${tag}>`;
      walk(node[tag], collect);
    }
  };
  walk(doc, true);
  walk(doc, false);
  return found;
}

/**
 * Everything about `config` that only its URDF can tell, as issue lines (empty when it fits).
 * Stops at the first structural problem (file, chain), since the later checks build on it.
 * @param opts.embedded check that the control period is a whole number of the embedded
 *   simulator's physics steps (default true: `naf-ros train` runs there)
 */
export function armIssues(config: NafConfig, opts: { embedded?: boolean } = {}): string[] {
  const given = JSON.stringify(config.urdf_path);
  const path = resolveUrdfPath(config.urdf_path);
  if (!existsSync(path))
    return [`urdf_path: must be an existing URDF file (a relative path in a params file is relative to that file's folder; the default, relative to the naf_ros folder ${PROJECT_ROOT}); got ${given} (no file at ${path})`];
  const text = readFileSync(path, 'utf8');
  if (xacroMarker(text))
    return [`urdf_path: must be a plain URDF, not xacro (run \`xacro ${config.urdf_path} > arm.urdf\` and give arm.urdf; the ROS launch files run xacro themselves); got ${given}`];
  let urdf: UrdfModel;
  try {
    urdf = parseUrdf(text);
  } catch (e) {
    if (e instanceof UrdfError) return [`urdf_path: must be a valid URDF (${e.message}); got ${given}`];
    throw e;
  }

  const joints = config.joints;
  const movable = urdf.joints.filter((j) => j.type !== 'fixed').map((j) => j.name);
  const unknown = joints.filter((n) => !urdf.joints.some((j) => j.name === n));
  if (unknown.length)
    return [`joints: must be movable joints of ${config.urdf_path} (it has ${list(movable)}); got ${JSON.stringify(joints)}: ${list(unknown)} ${unknown.length > 1 ? 'are' : 'is'} not in the URDF`];
  const fixed = joints.filter((n) => urdf.joints.find((j) => j.name === n)!.type === 'fixed');
  if (fixed.length) return [`joints: must be movable joints of ${config.urdf_path} (it has ${list(movable)}); got ${JSON.stringify(joints)}: ${list(fixed)} ${fixed.length > 1 ? 'are' : 'is'} fixed`];

  const tip = config.task.tip_link;
  if (!urdf.links.has(tip)) {
    const leaves = [...urdf.links.keys()].filter((l) => !urdf.joints.some((j) => j.parent === l));
    return [`task.tip_link: must be a link of ${config.urdf_path} (its end links: ${list(leaves)}); got ${JSON.stringify(tip)}`];
  }
  const chain = jointPath(urdf, tip).filter((j) => j.type !== 'fixed').map((j) => j.name);
  if (JSON.stringify(chain) !== JSON.stringify(joints)) {
    const off = joints.filter((n) => !chain.includes(n));
    const missing = chain.filter((n) => !joints.includes(n));
    const why = off.length
      ? `${list(off)} ${off.length > 1 ? 'are' : 'is'} not between the root and the tip (a branch of the tree, or beyond the tip)`
      : missing.length
        ? `the chain also moves ${list(missing)}`
        : 'list them base to tip';
    return [`joints: must be the movable joints of the serial chain from the URDF root "${urdf.root}" to task.tip_link "${tip}", base to tip (${JSON.stringify(chain)}); got ${JSON.stringify(joints)}: ${why}`];
  }

  const issues: string[] = [];
  const missingFolders = config.mesh_search_path.filter((d) => !isFolder(d));
  if (missingFolders.length)
    issues.push(`mesh_search_path: must be existing folders (that hold ROS packages; in a params file relative to its folder); got ${JSON.stringify(config.mesh_search_path)}: ${list(missingFolders)} ${missingFolders.length > 1 ? 'are not folders' : 'is not a folder'}`);
  for (const name of joints) {
    const j = urdf.joints.find((k) => k.name === name)!;
    const inertial = urdf.links.get(j.child)!.inertial;
    if (!inertial || !(inertial.mass > 0))
      issues.push(`urdf_path: link "${j.child}" (moved by joint "${name}") must have an <inertial> with mass > 0 (the simulator and gravity compensation compute with it); got ${inertial ? `mass ${inertial.mass}` : 'none'} in ${config.urdf_path}`);
    if (j.type !== 'fixed' && !j.limit)
      issues.push(`urdf_path: joint "${name}" must have <limit effort velocity> (the torque bound and the safety clamp come from it); got none in ${config.urdf_path}`);
  }
  if (issues.length) return issues;

  if (opts.embedded ?? true) {
    const dt = 1 / config.control_rate_hz;
    const n = Math.round(dt / PHYSICS_TIMESTEP_S);
    if (n < 1 || Math.abs(n * PHYSICS_TIMESTEP_S - dt) > 1e-9 * dt) {
      const ok = [1, 2, 4, 5, 10, 20, 25].map((k) => `${+(1 / (k * PHYSICS_TIMESTEP_S)).toFixed(2)}`).join(', ');
      issues.push(`control_rate_hz: must make the control period 1/rate a whole number of the embedded simulator's ${PHYSICS_TIMESTEP_S * 1000} ms physics steps (e.g. ${ok} Hz); got ${config.control_rate_hz}`);
    }
  }
  try {
    new ReachTask(urdf, reachOptions(config));
  } catch (e) {
    if (e instanceof TaskOptionError) issues.push(taskIssue(e));
    else if (e instanceof UrdfError) issues.push(`urdf_path: ${e.message}`);
    else throw e;
  }
  return issues;
}
