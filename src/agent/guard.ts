/**
 * The divergence guard shared by NAF and DDPG, plus minibatch validation.
 *
 * Every update is a transaction: the agent computes the loss, the gradients and the *proposed*
 * weights, Adam moments, target weights and batch-norm statistics as new tensors, and commits them
 * only if all are finite. Public NAF code loses runs to NaNs from exactly this path (keras-rl #28,
 * Coach #357; DESIGN.md Sec. 8), and the actor must never receive a non-finite weight.
 *
 * A failed update (non-finite loss, gradient or proposal) means the current weights may already be
 * poisoned (finite but huge after one wild step, so the *next* forward overflows). The guard
 * therefore rolls back to the state before the last committed step — the last weights from which a
 * finite loss and step were computed — and the agent multiplies its learning rate by `lrDecay`.
 */
import * as tf from '@tensorflow/tfjs';
import type { TransitionBatch } from './types.js';
import { disposeCopies, VarStore } from './var_store.js';

/**
 * Checks a minibatch's array sizes. @throws Error naming the field whose length is wrong.
 */
export function validateBatch(batch: TransitionBatch, dX: number, dU: number): void {
  const { B } = batch;
  if (!Number.isInteger(B) || B < 1) throw new Error(`TransitionBatch: B must be a positive integer, got ${B}`);
  const want: [keyof TransitionBatch, number][] = [
    ['x', B * dX],
    ['u', B * dU],
    ['r', B],
    ['x2', B * dX],
    ['terminal', B],
  ];
  for (const [k, n] of want) {
    const a = batch[k] as Float32Array;
    if (!(a instanceof Float32Array) || a.length !== n) {
      throw new Error(`TransitionBatch.${k}: expected a Float32Array of ${n} values (B=${B}), got ${describe(a)}`);
    }
  }
}

/** True when every number in the batch is finite. */
export function batchIsFinite(batch: TransitionBatch): boolean {
  for (const a of [batch.x, batch.u, batch.r, batch.x2, batch.terminal]) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  }
  return true;
}

/**
 * Scalar that is 0 when every element of every tensor is finite and NaN otherwise
 * (sum of t - t: Inf - Inf and NaN - NaN are NaN). Call inside `tf.tidy`.
 */
export function nonFiniteProbe(tensors: tf.Tensor[]): tf.Scalar {
  return tf.addN(tensors.map((t) => tf.sum(tf.sub(t, t)))) as tf.Scalar;
}

/** Learner scalars saved with a rollback point (e.g. Adam step counts). */
export type Scalars = Record<string, number>;

/**
 * A `VarStore` whose commits keep a one-deep rollback point.
 */
export class GuardedStore {
  private backup: Map<string, tf.Tensor> | null = null;
  private backupScalars: Scalars | null = null;

  constructor(readonly store: VarStore) {}

  /**
   * Saves the current values (and `scalars`) as the rollback point, then assigns `proposal`.
   * Call inside `tf.tidy`.
   */
  commit(proposal: Map<string, tf.Tensor>, scalars: Scalars): void {
    const prev = this.store.copyAll();
    disposeCopies(this.backup);
    this.backup = prev;
    this.backupScalars = { ...scalars };
    this.store.assign(proposal);
  }

  /**
   * Restores the rollback point. Returns its scalars, or null when there is none (no commit since
   * construction or `forget`), in which case the current values are kept.
   */
  rollback(): Scalars | null {
    if (!this.backup) return null;
    const backup = this.backup;
    tf.tidy(() => this.store.assign(backup));
    return { ...this.backupScalars! };
  }

  /** Drops the rollback point (after loading a checkpoint the loaded state is the only good one). */
  forget(): void {
    disposeCopies(this.backup);
    this.backup = null;
    this.backupScalars = null;
  }

  dispose(): void {
    this.forget();
    this.store.dispose();
  }
}

function describe(a: unknown): string {
  if (a === undefined || a === null) return String(a);
  const name = (a as object).constructor?.name ?? typeof a;
  const len = (a as { length?: number }).length;
  return len === undefined ? name : `${name}(${len})`;
}
