/**
 * ROS 2 params files (the `--params-file` arguments `ros2 launch` passes), read with js-yaml by
 * the rclnodejs transport instead of rcl: rclnodejs 2.2.0's `new Node()` throws
 * "Type mismatch for parameter 'agent.hidden': expected 7, got object" when any params file holds
 * an integer array (checked on ROS 2 Humble). Same format and matching rules as rcl.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';

/**
 * Splits every `--params-file <f>` (inside `--ros-args`, as `ros2 launch` passes it, or before
 * it, as `naf-ros node --params-file <f>` takes it) out of argv, in order.
 * @throws Error when `--params-file` is the last argument.
 */
export function splitParamsFiles(argv: string[]): { argv: string[]; paramsFiles: string[] } {
  const out: string[] = [], files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--params-file') out.push(argv[i]);
    else if (i + 1 < argv.length) files.push(argv[++i]);
    else throw new Error('--params-file needs a file argument');
  }
  return { argv: out, paramsFiles: files };
}

/**
 * Parameters of node `/<ns>/<name>` in ROS 2 params files (`ros__parameters` sections named
 * `name`, `/name`, `/ns/name`, nested namespace keys, or the wildcard `/**`), flattened to dotted
 * names; later files and exact names win over earlier files and the wildcard.
 * @throws Error naming the file on unreadable or malformed YAML.
 */
export function readParamsFiles(files: string[], name: string, namespace = '/'): Map<string, unknown> {
  const fqn = `${namespace === '/' ? '' : namespace}/${name}`;
  const out = new Map<string, unknown>();
  const flatten = (o: Record<string, unknown>, prefix: string, into: Map<string, unknown>) => {
    for (const [k, v] of Object.entries(o ?? {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, into);
      else into.set(`${prefix}${k}`, v);
    }
  };
  for (const file of files) {
    let doc: unknown;
    try {
      doc = yaml.load(readFileSync(file, 'utf8'), { filename: file, schema: PARAMS_YAML_SCHEMA });
    } catch (e) {
      throw new Error(`cannot read params file ${file}: ${(e as Error).message}`);
    }
    const wildcard = new Map<string, unknown>(), exact = new Map<string, unknown>();
    const walk = (o: Record<string, unknown>, ns: string) => {
      for (const [k, v] of Object.entries(o ?? {})) {
        if (!v || typeof v !== 'object') continue;
        const key = k.startsWith('/') ? k : `/${k}`;
        const path = `${ns}${key}`.replace(/^\/+/, '/');
        const section = v as Record<string, unknown>;
        if ('ros__parameters' in section) {
          if (path === '/**' || path === '/*') flatten(section.ros__parameters as Record<string, unknown>, '', wildcard);
          else if (path === fqn) flatten(section.ros__parameters as Record<string, unknown>, '', exact);
        } else walk(section, path === '/' ? '' : path);
      }
    };
    walk((doc ?? {}) as Record<string, unknown>, '');
    for (const m of [wildcard, exact]) for (const [k, v] of m) out.set(k, v);
  }
  return out;
}

/**
 * js-yaml schema for params files: launch_ros writes list parameters as `!!python/tuple`
 * sequences (yaml.dump of the tuples it normalises lists to); rcl reads them as arrays, so do we.
 */
const PARAMS_YAML_SCHEMA = yaml.DEFAULT_SCHEMA.extend([
  new yaml.Type('tag:yaml.org,2002:python/tuple', { kind: 'sequence', construct: (d: unknown[] | null) => d ?? [] }),
]);
