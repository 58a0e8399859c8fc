/**
 * A learner's mutable state — weights, Adam moments, target weights, batch-norm statistics — as
 * named flat buffers, with the divergence guard's transaction: a step updates `current` in place
 * (after `beginStep` has saved it), then either `commit`s, which makes the saved state the rollback
 * point, or `rollback`s.
 *
 * The rollback point is the state before the last *committed* step. Public NAF code loses runs to
 * NaNs (keras-rl #28, Coach #357; DESIGN.md Sec. 8); a failed update means the current weights may
 * already be poisoned (finite but huge after one wild step, so the *next* forward pass overflows),
 * so a rollback returns to the state before the step that produced them.
 *
 * Three buffer sets: `current` (stable arrays, updated in place), the rollback point, and the
 * pre-step copy of the step in progress; committing swaps the last two (no copy). In-place updates
 * touch half the memory of writing a proposal to separate buffers (the optimiser loop is
 * memory-bound), and the pre-step copy is a plain memcpy.
 *
 * `current` and the `scratch` buffers (a step's gradient, say: not part of the transaction) live on
 * one `KernelMemory`, so Adam and the soft target update over them run as wasm SIMD kernels
 * (`adam.ts`).
 */
import { alignedFloats, KernelMemory } from './kernels.js';

export class FlatState<K extends string, S extends string = never> {
  /** The state; its arrays keep their identity for the learner's lifetime. */
  readonly current: Readonly<Record<K, Float32Array>>;
  /** Working buffers on the same memory, outside the transaction (zero-filled at construction). */
  readonly scratch: Readonly<Record<S, Float32Array>>;
  /** The memory `current` and `scratch` live on (hand `memory.memory` to a worker when shared). */
  readonly memory: KernelMemory;
  private backup: Record<K, Float32Array>;
  private spare: Record<K, Float32Array>;
  private hasBackup = false;
  private backupScalars: Record<string, number> = {};
  private stepScalars: Record<string, number> | null = null;

  /**
   * @param sizes element count of each named buffer
   * @param options `shared`: the memory is a SharedArrayBuffer, so another thread can read and
   *   update `current` and `scratch` (the NAF head worker, `agent/naf/head_worker.ts`);
   *   `scratch`: element count of each working buffer
   */
  constructor(readonly sizes: Record<K, number>, options: { shared?: boolean; scratch?: Record<S, number> } = {}) {
    const scratch = options.scratch ?? ({} as Record<S, number>);
    const counts = [...Object.values<number>(sizes), ...Object.values<number>(scratch)];
    this.memory = KernelMemory.create(counts.reduce((a, n) => a + alignedFloats(n), 0), options.shared ?? false);
    const make = <T extends string>(s: Record<T, number>, alloc: (n: number) => Float32Array) =>
      Object.fromEntries(Object.entries<number>(s).map(([k, n]) => [k, alloc(n)])) as Record<T, Float32Array>;
    this.current = make(sizes, (n) => this.memory.alloc(n));
    this.scratch = make(scratch, (n) => this.memory.alloc(n));
    this.backup = make(sizes, (n) => new Float32Array(n));
    this.spare = make(sizes, (n) => new Float32Array(n));
  }

  /** True between `beginStep` and the following `commit` or `rollback`. */
  get stepInProgress(): boolean {
    return this.stepScalars !== null;
  }

  /**
   * Saves the current state (and `scalars`, e.g. the Adam step count) before a step writes it in
   * place. Idempotent within one step.
   */
  beginStep(scalars: Record<string, number>): void {
    if (this.stepScalars) return;
    for (const k of this.keys()) this.spare[k].set(this.current[k]);
    this.stepScalars = { ...scalars };
  }

  /** Ends the step in progress: the state saved by `beginStep` becomes the rollback point. */
  commit(): void {
    if (!this.stepScalars) throw new Error('FlatState.commit: no step in progress');
    [this.backup, this.spare] = [this.spare, this.backup];
    this.backupScalars = this.stepScalars;
    this.hasBackup = true;
    this.stepScalars = null;
  }

  /**
   * Restores the rollback point (it stays the rollback point) and returns its scalars. Without one
   * (no commit since construction or `forget`) a step in progress is undone and null is returned;
   * otherwise nothing changes and null is returned.
   */
  rollback(): Record<string, number> | null {
    const from = this.hasBackup ? this.backup : this.stepScalars ? this.spare : null;
    this.stepScalars = null;
    if (!from) return null;
    for (const k of this.keys()) this.current[k].set(from[k]);
    return this.hasBackup ? { ...this.backupScalars } : null;
  }

  /**
   * Undoes the step in progress, if any (the state saved by `beginStep` comes back; the rollback
   * point is unchanged): for a step that threw rather than failed.
   */
  abortStep(): void {
    if (!this.stepScalars) return;
    for (const k of this.keys()) this.current[k].set(this.spare[k]);
    this.stepScalars = null;
  }

  /** Drops the rollback point (after loading a checkpoint the loaded state is the only good one). */
  forget(): void {
    this.hasBackup = false;
    this.backupScalars = {};
    this.stepScalars = null;
  }

  private keys(): K[] {
    return Object.keys(this.sizes) as K[];
  }
}

/** A zero-filled Float32Array of n elements on a SharedArrayBuffer. */
export function sharedFloat32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * n));
}
