/**
 * Descriptor checks of parameter values, shared by both transports so a rejected
 * `ros2 param set` gives the same clear reason in tests and on a robot.
 *
 * Why not rely on rclnodejs 2.2.0's own range check: its range-failure reason reads
 * "Parameter X does not  readonly" (lib/node.js `_validateParameters`), and its
 * `ParameterDescriptor.toMessage()` never reports the range (it reads an unset
 * `_rangeConstraint`). The rclnodejs transport therefore declares descriptors without a range
 * object and enforces the range here, in an on-set callback that runs before the node's own.
 * Range refusals follow rclcpp's wording (`node_parameters.cpp`); type, read-only and undeclared
 * refusals carry our own reason naming the parameter, what it allows and what was given, because
 * rclnodejs answers a wrong type with the same garbled text ("Parameter X does not  readonly").
 * `refusal` is the one gate both transports run before anything else (rclnodejs: in front of its
 * own `setParametersAtomically`, which `ros2 param set` reaches through the parameter services).
 */
import type { ParameterDescriptor, ParameterKind, ParameterValue } from './transport.js';

/** JS type of a value, as a ParameterKind, or null when it is none of them. */
export function kindOf(value: unknown): ParameterKind | null {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'double';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'boolean')) return 'bool_array';
    if (value.every((v) => typeof v === 'string')) return 'string_array';
    if (value.every((v) => typeof v === 'number')) return value.every(Number.isInteger) ? 'integer_array' : 'double_array';
  }
  return null;
}

/**
 * Checks `value` against `d` and returns the value to store (integers are accepted for doubles,
 * as YAML `5` for a double parameter) or the reason it is rejected.
 * An empty array is accepted for any array kind.
 */
export function checkParameterValue(
  name: string, value: unknown, d: ParameterDescriptor,
): { value: ParameterValue } | { reason: string } {
  const given = kindOf(value);
  const arr = value as unknown[];
  const emptyArray = Array.isArray(value) && value.length === 0 && d.type.endsWith('_array');
  const compatible =
    emptyArray ||
    given === d.type ||
    (d.type === 'double' && given === 'integer') ||
    (d.type === 'double_array' && given === 'integer_array');
  if (!compatible) return { reason: `${name} must be ${allowedByDescriptor(d)}; got ${givenText(value)} (nothing was changed)` };
  const numbers = typeof value === 'number' ? [value] : Array.isArray(value) && typeof arr[0] === 'number' ? (arr as number[]) : [];
  const range = d.floatingPointRange ?? d.integerRange;
  if (range) {
    const step = range.step ?? 0;
    for (const v of numbers) {
      const tol = 1e-9 * Math.max(1, Math.abs(v));
      const inside = v >= range.from - tol && v <= range.to + tol;
      const onStep = step === 0 || Math.abs(Math.round((v - range.from) / step) * step + range.from - v) <= tol;
      if (!inside || !onStep) {
        const kind = d.floatingPointRange ? 'floating point' : 'integer';
        return {
          reason: `Parameter ${name} doesn't comply with ${kind} range [${range.from}, ${range.to}]${step ? ` step ${step}` : ''}; got ${v}`,
        };
      }
    }
  }
  return { value: Array.isArray(value) ? ([...value] as ParameterValue) : (value as ParameterValue) };
}

/** Description text with the range appended (so `ros2 param describe` shows it on rclnodejs too). */
export function describeWithRange(d: ParameterDescriptor): string {
  const r = d.floatingPointRange ?? d.integerRange;
  return r ? `${d.description} Range [${r.from}, ${r.to}].` : d.description;
}

const TYPE_WORDS: Record<ParameterKind, string> = {
  bool: 'a bool (true or false)', integer: 'an integer', double: 'a double (a number)', string: 'a string',
  bool_array: 'an array of bools', integer_array: 'an array of integers', double_array: 'an array of doubles', string_array: 'an array of strings',
};

/** "a double (a number) in [0, 1]": the type and range a descriptor allows. */
export function allowedByDescriptor(d: ParameterDescriptor): string {
  const r = d.floatingPointRange ?? d.integerRange;
  return `${TYPE_WORDS[d.type]}${r ? ` in [${r.from}, ${r.to}]` : ''}`;
}

/** What the user gave, with its type: `the string "abc"`, `the integer 3`, `the bool true`. */
export function givenText(value: unknown): string {
  const k = kindOf(value);
  const shown = JSON.stringify(value);
  if (k === 'string') return `the string ${shown}`;
  if (k === 'bool') return `the bool ${shown}`;
  if (k === 'integer' || k === 'double') return `the ${k} ${shown}`;
  if (k) return `${TYPE_WORDS[k].replace(/^an? /, 'the ')} ${shown}`;
  return value === undefined || value === null ? 'no value (a parameter delete)' : `${shown ?? String(value)}`;
}

/** Edit distance, for "did you mean" on an undeclared name. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Why a run-time update of `name` to `value` is refused, or the value to store. The checks, in
 * order: declared (`d` undefined = not declared by this node), read-only, type, range.
 * @param node fully qualified node name, for the message
 * @param declared names this node declares (for "did you mean")
 */
export function refusal(
  name: string, value: unknown, d: ParameterDescriptor | undefined, node: string, declared: Iterable<string>,
): { value: ParameterValue } | { reason: string } {
  if (!d) {
    const close = [...declared].map((n) => ({ n, dist: editDistance(n, name) }))
      .filter((c) => c.dist <= Math.max(2, Math.floor(name.length / 4)) || c.n.split('.').pop() === name.split('.').pop());
    const best = Math.min(...close.map((c) => c.dist));
    const near = close.filter((c) => c.dist === best).slice(0, 3).map((c) => `'${c.n}'`);
    return {
      reason: `${name} is not a parameter of ${node}${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; ` +
        `undeclared parameters are refused ('ros2 param list ${node}' shows the declared ones; nothing was changed)`,
    };
  }
  if (d.readOnly) {
    return { reason: `${name} is read-only: it is set at launch (params file or launch argument) and fixed while ${node} runs; nothing was changed` };
  }
  if (value === undefined || value === null) return { reason: `${name} cannot be deleted: ${node} declares it (${allowedByDescriptor(d)})` };
  return checkParameterValue(name, value, d);
}
