/**
 * The trainer's configuration as ROS 2 parameters (DESIGN Sec. 5): every key of `NafConfig`
 * becomes a dotted parameter (`agent.learning_rate`) declared with a descriptor built from the
 * one JSON schema (`src/config/schema.ts`): type, description with units and allowed values,
 * range, and read-only.
 *
 * Read-only: every parameter except `LIVE_PARAMETERS`. The safety values
 * (`model_based.max_on_policy_fraction`, `safety.*` limits, ...) are set at launch only, and the
 * learning hyper-parameters live in the learner thread, which cannot take them mid-run: letting
 * `ros2 param set` "succeed" on them would be a lie. Live changes are validated with
 * `validateParameterUpdate` (schema, ranges, and the cross-check p <= max_on_policy_fraction,
 * whose reason names the cap).
 */
import { allowedText, parameterSchema, parseConfig, validateParameterUpdate, flattenParameters } from '../../config/load.js';
import { LIVE_PARAMETERS, type NafConfig } from '../../config/schema.js';

export { LIVE_PARAMETERS };
import type { ParameterDescriptor, ParameterKind, ParameterValue, RosNode } from '../transport/transport.js';


/** ROS parameters every node has, accepted in params files next to the config keys. */
export const STANDARD_PARAMETERS: ReadonlySet<string> = new Set(['use_sim_time']);

/**
 * Descriptor of a config parameter from its schema. @throws Error when `name` is not a config
 * parameter.
 */
export function descriptorFor(name: string): ParameterDescriptor {
  const s = parameterSchema(name);
  if (!s || s.properties) throw new Error(`descriptorFor: ${name} is not a naf_trainer parameter`);
  const item = s.items?.type;
  const kinds: Record<string, ParameterKind> = { number: 'double', integer: 'integer', boolean: 'bool', string: 'string' };
  const type: ParameterKind | undefined = s.type === 'array' ? (item ? (`${kinds[item]}_array` as ParameterKind) : undefined) : kinds[s.type ?? ''];
  if (!type) throw new Error(`descriptorFor: ${name} has an unsupported schema type ${s.type}/${item}`);
  const readOnly = !LIVE_PARAMETERS.has(name);
  const d: ParameterDescriptor = { type, description: s.description ?? '', readOnly };
  if (s.minimum !== undefined && s.maximum !== undefined) {
    if (type === 'double' || type === 'double_array') d.floatingPointRange = { from: s.minimum, to: s.maximum, step: 0 };
    if (type === 'integer' || type === 'integer_array') d.integerRange = { from: s.minimum, to: s.maximum, step: 1 };
  }
  // The transports append "Range [from, to]." when there is a range; otherwise say what is allowed.
  if (!d.floatingPointRange && !d.integerRange) d.description += ` Allowed: ${allowedText(s)}.`;
  if (readOnly) d.description += ' Read-only (launch-time).';
  return d;
}

/** Dotted names of all config parameters, in declaration order. */
export function configParameterNames(): string[] {
  return [...flattenParameters(parseConfig({})).keys()];
}

/** Names in `given` that are neither config parameters nor standard ROS ones (typos). */
export function unknownParameters(given: Iterable<string>): string[] {
  const known = new Set(configParameterNames());
  return [...given].filter((n) => !known.has(n) && !STANDARD_PARAMETERS.has(n) && !n.startsWith('qos_overrides.'));
}

/** Nested config object from dotted names. */
export function unflatten(values: Map<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, v] of values) {
    const keys = name.split('.');
    let o = root;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1]] = v;
  }
  return root;
}

/**
 * Declares every config parameter on `node` (defaults from `base`, launch-time overrides win)
 * and returns the validated effective config.
 * @throws Error with the reason when an override fails its descriptor, or `ConfigError` listing
 *   every invalid value (e.g. on_policy_fraction above max_on_policy_fraction).
 */
export function declareConfigParameters(node: RosNode, base: NafConfig = parseConfig({})): NafConfig {
  const values = new Map<string, unknown>();
  for (const [name, value] of flattenParameters(base)) {
    values.set(name, node.declareParameter(name, value as ParameterValue, descriptorFor(name)));
  }
  return parseConfig(unflatten(values), `parameters of ${node.resolveName('~')}`);
}

/**
 * Validates run-time updates (on-set callback) and hands accepted ones to `apply` (post-set).
 * `current()` returns the config in force; updates are checked in order against it, so an
 * atomic set of several parameters is checked as a whole.
 */
export function installParameterValidation(
  node: RosNode, current: () => NafConfig, apply: (next: NafConfig, changed: string[]) => void,
): void {
  const merge = (cfg: NafConfig, name: string, value: unknown): NafConfig => {
    const next = structuredClone(cfg) as unknown as Record<string, Record<string, unknown>>;
    const keys = name.split('.');
    let o: Record<string, unknown> = next;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys[keys.length - 1]] = value;
    return next as unknown as NafConfig;
  };
  node.addOnSetParametersCallback((updates) => {
    let cfg = current();
    for (const u of updates) {
      if (STANDARD_PARAMETERS.has(u.name)) continue;
      const reason = validateParameterUpdate(u.name, u.value, cfg);
      if (reason) return { successful: false, reason };
      cfg = merge(cfg, u.name, u.value);
    }
    return { successful: true, reason: '' };
  });
  node.addPostSetParametersCallback((updates) => {
    let cfg = current();
    const changed: string[] = [];
    for (const u of updates) {
      if (STANDARD_PARAMETERS.has(u.name)) continue;
      cfg = merge(cfg, u.name, u.value);
      changed.push(u.name);
    }
    if (changed.length) apply(cfg, changed);
  });
}
