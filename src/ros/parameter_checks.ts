/**
 * Descriptor checks of parameter values, shared by both transports so a rejected
 * `ros2 param set` gives the same clear reason in tests and on a robot.
 *
 * Why not rely on rclnodejs 2.2.0's own range check: its range-failure reason reads
 * "Parameter X does not  readonly" (lib/node.js `_validateParameters`), and its
 * `ParameterDescriptor.toMessage()` never reports the range (it reads an unset
 * `_rangeConstraint`). The rclnodejs transport therefore declares descriptors without a range
 * object and enforces the range here, in an on-set callback that runs before the node's own.
 * The wording follows rclcpp (`node_parameters.cpp`).
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
  if (!compatible) {
    return {
      reason: `Wrong parameter type, parameter ${name} is of type {${d.type}}, setting it to {${given ?? typeof value}} is not allowed.`,
    };
  }
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
