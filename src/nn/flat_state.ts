/**
 * A learner's mutable state — weights, Adam moments, target weights, batch-norm statistics — as
 * named flat buffers, with the divergence guard's transaction: an update writes its proposal into
 * `next`, and `commit` makes it current while keeping the state before it as the rollback point.
 *
 * Three buffer sets rotate (current, backup, next), so committing copies nothing. Public NAF code
 * loses runs to NaNs (keras-rl #28, Coach #357; DESIGN.md Sec. 8); a failed update means the
 * current weights may already be poisoned (finite but huge after one wild step, so the *next*
 * forward pass overflows), so `rollback` returns to the state before the last committed step.
 */
export class FlatState<K extends string> {
  private cur: Record<K, Float32Array>;
  private nxt: Record<K, Float32Array>;
  private bak: Record<K, Float32Array>;
  private hasBackup = false;
  private backupScalars: Record<string, number> = {};

  /** @param sizes element count of each named buffer */
  constructor(readonly sizes: Record<K, number>) {
    const make = () => Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, new Float32Array(n as number)])) as Record<K, Float32Array>;
    this.cur = make();
    this.nxt = make();
    this.bak = make();
  }

  /** The committed state. Written directly only when loading (init, checkpoints). */
  get current(): Readonly<Record<K, Float32Array>> {
    return this.cur;
  }

  /** Buffers for the proposal of the update in progress (contents undefined until written). */
  get next(): Readonly<Record<K, Float32Array>> {
    return this.nxt;
  }

  /**
   * Makes `next` current; the previous current state (and `scalars`, e.g. the Adam step count it
   * had) becomes the rollback point.
   */
  commit(scalars: Record<string, number>): void {
    const old = this.bak;
    this.bak = this.cur;
    this.cur = this.nxt;
    this.nxt = old;
    this.hasBackup = true;
    this.backupScalars = { ...scalars };
  }

  /**
   * Restores the rollback point (it stays the rollback point). Returns its scalars, or null when
   * there is none (no commit since construction or `forget`): the current state is kept then.
   */
  rollback(): Record<string, number> | null {
    if (!this.hasBackup) return null;
    for (const k of Object.keys(this.sizes) as K[]) this.cur[k].set(this.bak[k]);
    return { ...this.backupScalars };
  }

  /** Drops the rollback point (after loading a checkpoint the loaded state is the only good one). */
  forget(): void {
    this.hasBackup = false;
    this.backupScalars = {};
  }
}
