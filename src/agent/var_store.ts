/**
 * A learner's complete mutable tensor state — online weights, target weights, Adam moments,
 * batch-norm running statistics — as named `tf.Variable`s, with the three things the agents need
 * on top of tfjs: a shape-checked assignment, a cheap in-memory checkpoint for the divergence
 * guard, and conversion to/from the serialisable `AgentState` tensors.
 *
 * Names are the agent's own (`online/V/0/W`, `adam_m/online/V/0/W`, ...); tfjs's global variable
 * registry gets auto-generated names so several agents can coexist in one process.
 */
import * as tf from '@tensorflow/tfjs';
import type { AgentState } from './types.js';

/** Initial value of one named tensor. `data` is row-major with `shape`'s layout. */
export interface TensorInit {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class VarStore {
  private readonly vars = new Map<string, tf.Variable>();

  /**
   * Adds a variable. @throws Error on a duplicate name or when `data.length` does not match `shape`.
   * @param trainable whether `tf.variableGrads` may differentiate it (only online weights are).
   */
  add(init: TensorInit, trainable: boolean): tf.Variable {
    if (this.vars.has(init.name)) throw new Error(`VarStore: duplicate variable '${init.name}'`);
    const n = init.shape.reduce((a, b) => a * b, 1);
    if (init.data.length !== n) {
      throw new Error(`VarStore: '${init.name}' has ${init.data.length} values for shape [${init.shape}]`);
    }
    const initial = tf.tensor(init.data, init.shape, 'float32');
    const v = tf.variable(initial, trainable); // shares initial's data; the wrapper must be freed
    initial.dispose();
    this.vars.set(init.name, v);
    return v;
  }

  /** @throws Error naming the variable when it does not exist. */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`VarStore: no variable '${name}'`);
    return v;
  }

  /** Names in insertion order, optionally only those starting with `prefix`. */
  names(prefix = ''): string[] {
    return [...this.vars.keys()].filter((n) => n.startsWith(prefix));
  }

  /** Lookup `name -> tensor` under `prefix` (e.g. `view('online/')('V/0/W')`), for the forward passes. */
  view(prefix: string): (name: string) => tf.Tensor {
    return (name) => this.get(prefix + name);
  }

  /**
   * Replaces values (the tensors are copied into the variables; call inside `tf.tidy`).
   * @throws Error when a name is unknown or a shape differs; nothing is assigned in that case.
   */
  assign(values: Map<string, tf.Tensor>): void {
    for (const [name, t] of values) {
      const v = this.get(name);
      if (!shapesEqual(v.shape, t.shape)) {
        throw new Error(`VarStore: '${name}' has shape [${v.shape}], cannot assign [${t.shape}]`);
      }
    }
    for (const [name, t] of values) this.get(name).assign(t);
  }

  /** Kept copies of every variable (the caller disposes them with `disposeCopies`). */
  copyAll(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.vars) out.set(name, tf.keep(v.clone()));
    return out;
  }

  /** Row-major copy of one variable's values (a copy: some backends return their own buffer). */
  read(name: string): Float32Array {
    return Float32Array.from(this.get(name).dataSync() as Float32Array);
  }

  /** Every variable as a serialisable `AgentState` tensor entry (copies). */
  async toState(): Promise<AgentState['tensors']> {
    const out: AgentState['tensors'] = [];
    for (const [name, v] of this.vars) {
      out.push({ name, shape: [...v.shape], data: Float32Array.from(await v.data()) });
    }
    return out;
  }

  /**
   * Loads `toState()` output. The set of names and every shape must match exactly.
   * @throws Error naming the first missing, unexpected or mis-shaped tensor (nothing is assigned).
   */
  fromState(tensors: AgentState['tensors']): void {
    const given = new Map(tensors.map((t) => [t.name, t]));
    for (const name of this.vars.keys()) {
      if (!given.has(name)) throw new Error(`agent state: missing tensor '${name}'`);
    }
    for (const t of tensors) {
      const v = this.vars.get(t.name);
      if (!v) throw new Error(`agent state: unexpected tensor '${t.name}'`);
      if (!shapesEqual(v.shape, t.shape)) {
        throw new Error(`agent state: tensor '${t.name}' has shape [${t.shape}], expected [${v.shape}]`);
      }
      if (!(t.data instanceof Float32Array) || t.data.length !== v.size) {
        throw new Error(`agent state: tensor '${t.name}' needs a Float32Array of ${v.size} values`);
      }
      const bad = t.data.findIndex((a) => !Number.isFinite(a));
      if (bad >= 0) throw new Error(`agent state: tensor '${t.name}' has a non-finite value (${t.data[bad]}) at index ${bad}`);
    }
    tf.tidy(() => {
      for (const t of tensors) this.get(t.name).assign(tf.tensor(t.data, t.shape, 'float32'));
    });
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Disposes a map of kept tensors (from `copyAll`). */
export function disposeCopies(m: Map<string, tf.Tensor> | null): void {
  if (m) for (const t of m.values()) t.dispose();
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
