/**
 * Params files as written and as resolved: the resolved config of a run written back as a ROS 2
 * params file (`naf_trainer: ros__parameters:`) that `--config` and `ros2 launch` accept, and the
 * rule for relative paths.
 *
 * Paths (`PATH_PARAMETERS`): a relative path written in a params file is relative to the folder of
 * that file. Left at their defaults, `urdf_path` is the package's `urdf/reacher3.urdf` and
 * `run_dir` is `runs` in the working directory. A resolved config (the run folder's
 * `config.yaml`) carries absolute paths, so it means the same wherever it is read from.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA, PATH_PARAMETERS, type NafConfig } from './schema.js';

/** The package folder (where `urdf/`, `config/` and `package.json` are). */
export const PACKAGE_ROOT = new URL('../..', import.meta.url).pathname;

/** A schema-typed double, written with a decimal point (`50.0`): rcl types params by literal. */
class RosDouble {
  constructor(readonly value: number) {}
}
// Its own tag: js-yaml keeps one implicit type per tag, and this one is never written (implicit).
const doubleType = new yaml.Type('tag:naf_ros,2026:double', {
  kind: 'scalar',
  instanceOf: RosDouble,
  resolve: () => false, // dump-only: a plain string never reads as this type
  represent: (d) => {
    const v = (d as RosDouble).value;
    return Number.isInteger(v) ? v.toFixed(1) : String(v);
  },
});
/** js-yaml's types with doubles first, so a RosDouble is written as one (never as an int). */
const builtin = (yaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float', yaml.Type> }).types; // in js-yaml 4, not in its typings
const DUMP_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({ implicit: [doubleType, builtin.null, builtin.bool, builtin.int, builtin.float] });

type Node = { type?: string; items?: Node; properties?: Record<string, Node> };

/**
 * Wraps every value whose schema type is `number` (or array of numbers) as a RosDouble; keys in
 * the schema's order (the order of README's parameter table).
 */
function typed(value: unknown, schema: Node | undefined): unknown {
  if (schema?.properties && value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = [...Object.keys(schema.properties).filter((k) => k in o), ...Object.keys(o).filter((k) => !(k in schema.properties!))];
    return Object.fromEntries(keys.map((k) => [k, typed(o[k], schema.properties![k])]));
  }
  if (Array.isArray(value)) return value.map((v) => typed(v, schema?.items));
  if (schema?.type === 'number' && typeof value === 'number') return new RosDouble(value);
  return value;
}

/**
 * A config as a ROS 2 params file: `<nodeName>: ros__parameters: {...}`, doubles with a decimal
 * point, every parameter written (defaults included), paths absolute.
 */
export function dumpParamsFile(config: NafConfig, header: string[] = [], nodeName = 'naf_trainer'): string {
  const doc = { [nodeName]: { ros__parameters: typed(absolutePaths(config), CONFIG_SCHEMA as unknown as Node) } };
  const comments = header.map((l) => `# ${l}`.trimEnd()).join('\n');
  return (comments ? comments + '\n' : '') + yaml.dump(doc, { schema: DUMP_SCHEMA, lineWidth: 120, flowLevel: 4 });
}

function getPath(o: Record<string, unknown>, name: string): unknown {
  return name.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
}
function setPath(o: Record<string, unknown>, name: string, v: unknown): void {
  const keys = name.split('.');
  let x = o;
  for (const k of keys.slice(0, -1)) x = x[k] as Record<string, unknown>;
  x[keys[keys.length - 1]] = v;
}

/**
 * A path parameter's value with its relative paths resolved against `base`: a string, or each
 * string of a list (`mesh_search_path`); "" and values of other types are returned as they are
 * (validation reports them).
 */
export function resolvePathValue(v: unknown, base: string): unknown {
  const one = (p: unknown) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p);
  return Array.isArray(v) ? v.map(one) : one(v);
}

/**
 * Resolves the relative paths *written* in a params file's parameters against `baseDir` (the
 * file's folder). Parameters not given are left alone (their defaults keep their own meaning).
 * Returns a copy.
 */
export function resolveFileRelative(params: unknown, baseDir: string): unknown {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return params;
  const copy = structuredClone(params) as Record<string, unknown>;
  for (const name of PATH_PARAMETERS) {
    const v = getPath(copy, name);
    if (v !== undefined) setPath(copy, name, resolvePathValue(v, baseDir));
  }
  return copy;
}

/**
 * The config with every path absolute: a relative `urdf_path` against the package folder (where
 * the default URDF is), every other relative path against the working directory.
 */
export function absolutePaths(config: NafConfig): NafConfig {
  const c = structuredClone(config);
  const root = c as unknown as Record<string, unknown>;
  for (const name of PATH_PARAMETERS) setPath(root, name, resolvePathValue(getPath(root, name), name === 'urdf_path' ? PACKAGE_ROOT : process.cwd()));
  return c;
}

/** Folder of a params file (the base of its relative paths). */
export const paramsFileDir = (file: string) => dirname(resolve(file));

/**
 * The parameters whose values differ between two configs: dotted names (arrays compared whole),
 * in the order of `a`'s keys, then `b`'s extra ones; each with its value in `a` and in `b`.
 */
export function parameterDiffs(a: NafConfig, b: NafConfig): { name: string; from: unknown; to: unknown }[] {
  const diffs: { name: string; from: unknown; to: unknown }[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk((x as never)[k], (y as never)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push({ name: path, from: x, to: y });
  };
  walk(a, b, '');
  return diffs;
}
