/**
 * Loading and validating naf_ros configuration from a ROS 2 params file.
 *
 * File format (the one `ros2 launch` passes with `--params-file`):
 * ```yaml
 * naf_trainer:
 *   ros__parameters:
 *     seed: 1
 *     agent: { learning_rate: 0.001 }
 * ```
 * `/**:` (the ROS wildcard node name) is accepted too. Every value is checked against
 * `CONFIG_SCHEMA`; an invalid one throws a `ConfigError` naming the parameter, what is allowed and
 * what was given. Unknown keys are errors (a typo must not silently fall back to a default).
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { merge } from './overrides.js';
import { Ajv, type ErrorObject } from 'ajv';
import { CONFIG_SCHEMA, LIVE_PARAMETERS, type NafConfig } from './schema.js';
import { paramsFileDir, resolveFileRelative } from './params_file.js';
import { ConfigError } from './config_error.js';
import { armIssues } from './arm_checks.js';

export { ConfigError };

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

export type SchemaNode = {
  type?: string; enum?: unknown[]; minimum?: number; maximum?: number; exclusiveMinimum?: number;
  minItems?: number; maxItems?: number; items?: SchemaNode; properties?: Record<string, SchemaNode>;
  description?: string; default?: unknown;
};

/** Sub-schema of a dotted parameter name, or undefined when no such parameter exists. */
export function parameterSchema(name: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = CONFIG_SCHEMA as unknown as SchemaNode;
  for (const key of name.split('.')) node = node?.properties?.[key];
  return node;
}

/** Human-readable statement of what a parameter allows, from its schema. */
export function allowedText(s: SchemaNode | undefined): string {
  if (!s) return 'no such parameter';
  if (s.enum) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (s.type === 'array') {
    const n = s.minItems === s.maxItems && s.minItems !== undefined ? `${s.minItems} ` : '';
    return `an array of ${n}${s.items?.type ?? 'value'}s`;
  }
  const lo = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined ? `>= ${s.minimum}` : '';
  const hi = s.maximum !== undefined ? `<= ${s.maximum}` : '';
  const range = [lo, hi].filter(Boolean).join(' and ');
  return `${s.type === 'integer' ? 'an integer' : `a ${s.type}`}${range ? ` ${range}` : ''}`;
}

function describe(e: ErrorObject, root: unknown): string {
  const path = e.instancePath.slice(1).split('/').filter(Boolean);
  if (e.keyword === 'additionalProperties') {
    const key = [...path, (e.params as { additionalProperty: string }).additionalProperty].join('.');
    return `${key}: unknown parameter (check the spelling; allowed here: ${Object.keys(parameterSchema(path.join('.'))?.properties ?? {}).join(', ')})`;
  }
  // Report on the parameter (not on an array element): "task.home_pose[1]" -> schema of task.home_pose.
  const paramPath: string[] = [];
  let given: unknown = root;
  for (const p of path) {
    given = (given as Record<string, unknown>)?.[p];
    if (!/^\d+$/.test(p)) paramPath.push(p);
  }
  const name = paramPath.join('.') || '(root)';
  return `${name}: must be ${allowedText(parameterSchema(name))}; got ${JSON.stringify(given)}${path.length > paramPath.length ? ` at ${e.instancePath}` : ''}`;
}

/** Checks that involve more than one parameter; returns issue lines. */
function crossChecks(c: NafConfig): string[] {
  const issues: string[] = [];
  const mb = c.model_based;
  if (mb.on_policy_fraction > mb.max_on_policy_fraction) {
    issues.push(`model_based.on_policy_fraction: must be <= model_based.max_on_policy_fraction (${mb.max_on_policy_fraction}, the safety cap); got ${mb.on_policy_fraction}`);
  }
  if (c.task.home_pose.length !== c.joints.length) {
    issues.push(`task.home_pose: must have one entry per joint (${c.joints.length}: ${c.joints.join(', ')}); got ${c.task.home_pose.length}`);
  }
  const { workspace_min: wmin, workspace_max: wmax } = c.safety;
  if (wmin.length !== wmax.length || (wmin.length !== 0 && wmin.length !== 3)) {
    issues.push(`safety.workspace_min, safety.workspace_max: must both be [x, y, z] (m), or both [] (unbounded); got ${JSON.stringify(wmin)} and ${JSON.stringify(wmax)}`);
  } else if (!wmin.every((v, i) => v < wmax[i])) {
    issues.push(`safety.workspace_max: must be greater than safety.workspace_min on every axis; got ${JSON.stringify(wmin)} and ${JSON.stringify(wmax)}`);
  }
  if (new Set(c.joints).size !== c.joints.length) issues.push(`joints: names must be unique; got ${JSON.stringify(c.joints)}`);
  if (c.agent.update_path === 'native' && (c.agent.kind !== 'naf' || c.agent.batch_norm)) {
    issues.push(`agent.update_path: native needs agent.kind naf without batch_norm (the native path has no batch normalisation); got ${c.agent.kind}${c.agent.batch_norm ? ' with batch_norm' : ''} (use auto or tfjs)`);
  }
  if (c.agent.learner_threads === 2 && (c.agent.kind !== 'naf' || c.agent.architecture !== 'separate')) {
    issues.push(`agent.learner_threads: 2 needs agent.kind naf with agent.architecture separate (the heads are split between threads); got 2 with ${c.agent.kind}, ${c.agent.architecture}`);
  }
  return issues;
}

/**
 * Validates a parameters object (the content under `ros__parameters`) and fills defaults.
 * @throws ConfigError listing every invalid parameter.
 */
export function parseConfig(params: unknown, source = 'parameters'): NafConfig {
  if (params === null || params === undefined) params = {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new ConfigError(source, [`ros__parameters must be a mapping; got ${JSON.stringify(params)}`]);
  }
  const copy = structuredClone(params) as Record<string, unknown>;
  if (!validateConfig(copy)) {
    throw new ConfigError(source, [...new Set((validateConfig.errors ?? []).map((e) => describe(e, params)))]);
  }
  const issues = crossChecks(copy);
  if (issues.length) throw new ConfigError(source, issues);
  return copy;
}

/**
 * Reads a ROS 2 params file and returns the validated config of `nodeName`, checked against the
 * arm it names (`armIssues`: URDF, joints, tip link, home pose, targets, control rate) unless
 * `opts.checkArm` is false. Everything a run needs is checked here, before a run folder exists.
 * Relative paths written in the file (`urdf_path`, `run_dir`, ...) are resolved against the
 * file's folder. `opts.overrides` (`--set` of the command line, `overrides.ts`) are merged over the
 * file's parameters before anything is checked, their relative paths resolved against the working
 * folder; errors then name the file and the overrides.
 * @throws ConfigError on a missing file, a YAML syntax error (with line), a missing
 *   `<node>: ros__parameters:` section, invalid values, or a config that does not fit its arm.
 */
export function loadParamsFile(path: string, nodeName = 'naf_trainer', opts: { checkArm?: boolean; overrides?: { params: Record<string, unknown>; source: string } } = {}): NafConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read the params file: ${(e as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: path });
  } catch (e) {
    throw new ConfigError(path, [`YAML syntax error: ${(e as Error).message}`]);
  }
  const root = (doc ?? {}) as Record<string, { ros__parameters?: unknown }>;
  const section = root[nodeName] ?? root[`/${nodeName}`] ?? root['/**'];
  if (!section || typeof section !== 'object' || !('ros__parameters' in section)) {
    throw new ConfigError(path, [`expected a "${nodeName}: ros__parameters:" section (ROS 2 params-file format); found top-level keys ${JSON.stringify(Object.keys(root))}`]);
  }
  let params = resolveFileRelative(section.ros__parameters, paramsFileDir(path));
  const source = opts.overrides ? `${path} with ${opts.overrides.source}` : path;
  if (opts.overrides) params = merge(params ?? {}, resolveFileRelative(opts.overrides.params, process.cwd()));
  const config = parseConfig(params, source);
  if (opts.checkArm ?? true) {
    const issues = armIssues(config);
    if (issues.length) throw new ConfigError(source, issues);
  }
  return config;
}

/** Dotted ROS parameter names and values of a config (`agent.learning_rate` -> 0.001). */
export function flattenParameters(c: NafConfig): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else out.set(`${prefix}${k}`, v);
    }
  };
  walk(c as unknown as Record<string, unknown>, '');
  return out;
}

/**
 * Validates a run-time parameter change (`ros2 param set`). Returns null when allowed, else the
 * reason (read-only, wrong type or range, or above the safety cap). Does not modify `current`.
 */
export function validateParameterUpdate(name: string, value: unknown, current: NafConfig): string | null {
  const schema = parameterSchema(name);
  if (!schema || schema.properties) return `${name}: unknown parameter`;
  if (!LIVE_PARAMETERS.has(name)) return `${name} is read-only while the node runs (set at launch; restart with a new params file to change it)`;
  const next = structuredClone(current) as unknown as Record<string, Record<string, unknown>>;
  const keys = name.split('.');
  let obj: Record<string, unknown> = next;
  for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
  obj[keys[keys.length - 1]] = value;
  try {
    parseConfig(next, 'parameter update');
    return null;
  } catch (e) {
    return e instanceof ConfigError ? e.issues.join('; ') : String(e);
  }
}
