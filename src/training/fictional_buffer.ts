/**
 * The fictional buffer R_f of Algorithm 2 (paper Sec. 5.2, lines 148-153) with an age bound.
 *
 * Imagined transitions are only as good as the model M that produced them and the policy mu that
 * chose their actions. Algorithm 2 as written keeps every rollout in R_f until the ring overwrites
 * it (at the shipped capacity of 10^5 transitions and ~2,500 imagined transitions per refit, that
 * is ~40 refits: a whole run), so rollouts of models and policies many refits old keep training Q.
 * Here every transition carries its *generation*: the number of model refits done when it was
 * imagined (the model of refit g imagines generation g). After refit G only generations
 * G − k + 1 … G are kept, k = `model_based.fictional_max_age_refits` (0 = no bound, the paper's
 * behaviour); older ones are dropped from the buffer at the refit. Generations grow with insertion
 * order, so the dropped transitions are always the oldest ones of the ring.
 *
 * Storage is one `ReplayBuffer` ring of fixed capacity (sampling is the ring's uniform sampling);
 * dropping copies the kept transitions back into the emptied ring (at most k refits' worth, once
 * per refit).
 */
import { ReplayBuffer } from '../agent/replay.js';
import type { TransitionBatch } from '../agent/types.js';
import type { Rng } from '../util/rng.js';

/** A run of consecutive transitions of one generation, oldest first. */
export interface GenerationBlock {
  /** refits done when these transitions were imagined */
  generation: number;
  /** transitions of this block still stored */
  count: number;
}

/** Serialisable state: the ring's and the generation blocks (sum of counts = ring size). */
export interface FictionalBufferState {
  ring: ReturnType<ReplayBuffer['getState']>;
  blocks: GenerationBlock[];
}

export class FictionalBuffer {
  readonly ring: ReplayBuffer;
  private blocks: GenerationBlock[] = [];

  /**
   * @param capacity transitions (`model_based.fictional_capacity`)
   * @param maxAgeRefits k: keep the rollouts of the last k refits' models; 0 = no age bound
   * @throws Error on a non-positive capacity/dX/dU (the ring's) or a negative / non-integer k.
   */
  constructor(capacity: number, dX: number, dU: number, readonly maxAgeRefits: number) {
    if (!Number.isInteger(maxAgeRefits) || maxAgeRefits < 0) throw new Error(`FictionalBuffer: maxAgeRefits must be an integer >= 0, got ${maxAgeRefits}`);
    this.ring = new ReplayBuffer(capacity, dX, dU);
  }

  get size(): number {
    return this.ring.size;
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  /** Generation blocks, oldest first (copies). */
  get generations(): GenerationBlock[] {
    return this.blocks.map((b) => ({ ...b }));
  }

  /**
   * Stores one imagined transition of `generation` (see `ReplayBuffer.add` for the arguments and
   * errors). @throws RangeError when `generation` is older than the newest stored one.
   */
  add(x: ArrayLike<number>, u: ArrayLike<number>, r: number, x2: ArrayLike<number>, terminal: boolean, t: number, generation: number): void {
    const last = this.blocks[this.blocks.length - 1];
    if (last && generation < last.generation) throw new RangeError(`FictionalBuffer.add: generation ${generation} is older than the newest stored (${last.generation})`);
    const full = this.ring.size === this.ring.capacity;
    this.ring.add(x, u, r, x2, terminal, t);
    if (last && last.generation === generation) last.count++;
    else this.blocks.push({ generation, count: 1 });
    if (full) this.forgetOldest(1); // the ring overwrote its oldest transition
  }

  /** A uniform minibatch of B stored transitions (`ReplayBuffer.sample`). */
  sample(B: number, rng: Rng): TransitionBatch {
    return this.ring.sample(B, rng);
  }

  /**
   * Applies the age bound after refit `generation` (the model now imagining): drops every
   * transition of a generation <= generation − k. No-op with k = 0.
   * @param maxAge k, the kept generations (default `maxAgeRefits`; a fleet of N arms keeps k·N:
   *   its generations count the refits of all arms)
   * @returns the number of transitions dropped.
   */
  age(generation: number, maxAge = this.maxAgeRefits): number {
    if (maxAge === 0) return 0;
    const oldestKept = generation - maxAge + 1;
    let drop = 0;
    for (const b of this.blocks) {
      if (b.generation >= oldestKept) break;
      drop += b.count;
    }
    if (drop === 0) return 0;
    const kept = [];
    for (let i = drop; i < this.ring.size; i++) kept.push(this.ring.get(i));
    this.ring.clear();
    for (const tr of kept) this.ring.add(tr.x, tr.u, tr.r, tr.x2, tr.terminal, tr.t);
    this.forgetOldest(drop);
    return drop;
  }

  getState(): FictionalBufferState {
    return { ring: this.ring.getState(), blocks: this.generations };
  }

  /**
   * Loads `getState()` output (same capacity, dX, dU). A state without blocks (a checkpoint
   * written before the age bound) counts every stored transition as `generationIfUnknown`.
   * @throws Error naming the mismatch (the ring's errors, or blocks that do not add up to its size).
   */
  setState(s: FictionalBufferState | ReturnType<ReplayBuffer['getState']>, generationIfUnknown = 0): void {
    const ring = 'ring' in s ? s.ring : s;
    const blocks = 'ring' in s ? s.blocks : [{ generation: generationIfUnknown, count: ring.size }];
    const total = blocks.reduce((n, b) => n + b.count, 0);
    const ordered = blocks.every((b, i) => Number.isInteger(b.count) && b.count > 0 && (i === 0 || b.generation > blocks[i - 1].generation));
    if (total !== ring.size || !(ordered || (ring.size === 0 && blocks.every((b) => b.count === 0)))) {
      throw new Error(`FictionalBuffer.setState: generation blocks ${JSON.stringify(blocks)} do not add up to the ${ring.size} stored transitions in increasing generations`);
    }
    this.ring.setState(ring);
    this.blocks = blocks.filter((b) => b.count > 0).map((b) => ({ ...b }));
  }

  /** Removes n transitions from the oldest blocks' counts. */
  private forgetOldest(n: number): void {
    while (n > 0) {
      const b = this.blocks[0];
      const k = Math.min(n, b.count);
      b.count -= k;
      n -= k;
      if (b.count === 0) this.blocks.shift();
    }
  }
}
