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
 * touch half the memory of writing a proposal to separate buffers (issue 10: the optimiser loop is
 * memory-bound), and the pre-step copy is a plain memcpy.
 */
export class FlatState<K extends string> {
  /** The state; its arrays keep their identity for the learner's lifetime. */
  readonly current: Readonly<Record<K, Float32Array>>;
  private backup: Record<K, Float32Array>;
  private spare: Record<K, Float32Array>;
  private hasBackup = false;
  private backupScalars: Record<string, number> = {};
  private stepScalars: Record<string, number> | null = null;

  /**
   * @param sizes element count of each named buffer
   * @param shared back `current` with SharedArrayBuffers, so another thread can read and update it
   *   (the NAF head worker, `agent/naf/head_worker.ts`)
   */
  constructor(readonly sizes: Record<K, number>, shared = false) {
    const make = (sab: boolean) =>
      Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, sab ? sharedFloat32(n as number) : new Float32Array(n as number)])) as Record<K, Float32Array>;
    this.current = make(shared);
    this.backup = make(false);
    this.spare = make(false);
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
