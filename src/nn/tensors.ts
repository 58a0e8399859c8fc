/**
 * Moving named tensors between flat Float32Array buffers (`ParamLayout`) and tfjs.
 *
 * On the wasm and tensorflow backends `tf.tensor` copies the values; on the cpu backend the tensor
 * aliases the given array. Callers therefore upload from buffers they do not write while the
 * tensors live (the learners dispose them before the next optimiser step writes any buffer).
 */
import * as tf from '@tensorflow/tfjs';
import type { LayoutEntry, ParamLayout } from './layout.js';

const selected = (layout: ParamLayout, prefixes?: readonly string[]): readonly LayoutEntry[] =>
  prefixes ? layout.entries.filter((e) => prefixes.some((p) => e.name.startsWith(p))) : layout.entries;

/** a [rows, cols] row-major -> a^T [cols, rows], a new array. */
export function transpose2d(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[row + j];
  }
  return out;
}

/** A batch a [rows, cols] row-major (one row per sample) as a feature-major tensor [cols, rows]. */
export function featureMajor(a: ArrayLike<number>, rows: number, cols: number): tf.Tensor2D {
  return tf.tensor2d(transpose2d(a, rows, cols), [cols, rows]);
}

/**
 * tfjs tensors of the tensors of `layout` held in `buf` (those whose names start with one of
 * `prefixes`, or all), by name, plus `<name>^T` (the 2-D transpose, made in JS) for each of those
 * named in `transposed`. Call inside `tf.tidy`.
 * @throws Error when a name in `transposed` is not a 2-D tensor of the layout.
 */
export function uploadTensors(layout: ParamLayout, buf: Float32Array, transposed: readonly string[] = [], prefixes?: readonly string[]): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const e of selected(layout, prefixes)) out.set(e.name, tf.tensor(buf.subarray(e.offset, e.offset + e.size), e.shape, 'float32'));
  for (const name of transposed) {
    if (prefixes && !prefixes.some((p) => name.startsWith(p))) continue;
    const e = layout.entry(name);
    if (e.shape.length !== 2) throw new Error(`uploadTensors: '${name}' is not 2-D, cannot transpose`);
    const [r, c] = e.shape;
    out.set(`${name}^T`, tf.tensor(transpose2d(buf.subarray(e.offset, e.offset + e.size), r, c), [c, r], 'float32'));
  }
  return out;
}

/** Lookup over a map of tensors. @throws Error naming a missing tensor. */
export function lookup(m: Map<string, tf.Tensor>, what: string): (name: string) => tf.Tensor {
  return (name) => {
    const t = m.get(name);
    if (!t) throw new Error(`${what}: no tensor '${name}'`);
    return t;
  };
}

/**
 * Copies each tensor of `layout` (those whose names start with one of `prefixes`, or all) from
 * `tensors` into its place in `buf` (synchronous download).
 * @throws Error naming a tensor that is missing or whose size differs from the layout.
 */
export function downloadInto(layout: ParamLayout, buf: Float32Array, tensors: Map<string, tf.Tensor>, prefixes?: readonly string[]): void {
  for (const e of selected(layout, prefixes)) {
    const t = tensors.get(e.name);
    if (!t) throw new Error(`downloadInto: no tensor '${e.name}'`);
    if (t.size !== e.size) throw new Error(`downloadInto: '${e.name}' has ${t.size} values, the layout ${e.size}`);
    buf.set(t.dataSync() as Float32Array, e.offset);
  }
}
