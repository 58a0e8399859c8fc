/**
 * Parameters given on a command line as `--set <dotted.name>=<value>` (`naf-ros train`, the
 * bench): parsed into a nested object and merged over a params file's parameters, which are then
 * validated as the file alone would be (`loadParamsFile`'s `overrides`).
 */
import yaml from 'js-yaml';

type Params = Record<string, unknown>;

/** Deep merge of plain objects (b wins; arrays and scalars of b replace a's). */
export function merge<T>(a: T, b: unknown): T {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return b as T;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out as T;
}

/**
 * `--set a.b.c=value` -> { a: { b: { c: value } } }; the value is read as YAML (numbers, booleans,
 * lists `[64, 64]`, strings). @throws Error naming the argument when it has no `=`, an empty name
 * part, or a value that is not YAML.
 */
export function parseSet(arg: string, yamlLoad: (s: string) => unknown = (s) => yaml.load(s)): Params {
  const i = arg.indexOf('=');
  if (i <= 0) throw new Error(`--set: expected <parameter>=<value> (e.g. agent.learning_rate=0.0005), got "${arg}"`);
  const keys = arg.slice(0, i).trim().split('.');
  if (keys.some((k) => !k)) throw new Error(`--set: "${arg.slice(0, i)}" is not a parameter name (dotted, e.g. agent.learning_rate)`);
  let v: unknown;
  try {
    v = yamlLoad(arg.slice(i + 1));
  } catch (e) {
    throw new Error(`--set ${arg}: the value is not YAML (${(e as Error).message.split('\n')[0]})`);
  }
  for (const k of keys.reverse()) v = { [k]: v };
  return v as Params;
}

/** Every `--set` argument merged, in order (a later one wins). @throws as `parseSet`. */
export function parseSets(args: readonly string[]): Params {
  return args.reduce<Params>((acc, a) => merge(acc, parseSet(a)), {});
}
