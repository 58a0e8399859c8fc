/**
 * Minibatch validation shared by the agents: sizes (a programming error: thrown) and finiteness
 * (bad data: the update is skipped and counted by the divergence guard, `learner_base.ts`).
 */
import type { TransitionBatch } from './types.js';

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

function describe(a: unknown): string {
  if (a === undefined || a === null) return String(a);
  const name = (a as object).constructor?.name ?? typeof a;
  const len = (a as { length?: number }).length;
  return len === undefined ? name : `${name}(${len})`;
}
