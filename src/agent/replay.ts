/**
 * Replay buffer R (and the fictional buffer R_f) of Algorithm 1/2 (Gu et al. 2016; Lillicrap et al.
 * 2016): a preallocated ring of fixed capacity on Float32Arrays. When full, `add` overwrites the
 * oldest transition. Each transition is (x, u, r, x', terminal, t); `t` is the time step within
 * the episode, which Algorithm 2 stores because its dynamics model is time-varying.
 *
 * Logical index i in [0, size) counts from the oldest stored transition (i = 0) to the newest.
 */
import type { Rng } from '../util/rng.js';
import type { TransitionBatch } from './types.js';

/** One stored transition (copies). */
export interface Transition {
  /** [dX] */
  x: Float32Array;
  /** [dU] N·m */
  u: Float32Array;
  r: number;
  /** [dX] */
  x2: Float32Array;
  terminal: boolean;
  /** time step within the episode, 0-based */
  t: number;
}

/** Serialisable buffer contents (typed arrays of full capacity, plus the ring position). */
export interface ReplayState {
  capacity: number;
  dX: number;
  dU: number;
  /** slot the next `add` writes */
  head: number;
  size: number;
  /** [capacity*dX] */
  x: Float32Array;
  /** [capacity*dU] */
  u: Float32Array;
  /** [capacity] */
  r: Float32Array;
  /** [capacity*dX] */
  x2: Float32Array;
  /** [capacity] 1 = terminal */
  terminal: Uint8Array;
  /** [capacity] */
  t: Int32Array;
}

export class ReplayBuffer {
  private x: Float32Array;
  private u: Float32Array;
  private r: Float32Array;
  private x2: Float32Array;
  private term: Uint8Array;
  private tIdx: Int32Array;
  private head = 0;
  private count = 0;

  /**
   * @param capacity maximum number of transitions (>= 1)
   * @throws Error when capacity, dX or dU is not a positive integer.
   */
  constructor(
    readonly capacity: number,
    readonly dX: number,
    readonly dU: number,
  ) {
    for (const [k, v] of [['capacity', capacity], ['dX', dX], ['dU', dU]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`ReplayBuffer: ${k} must be a positive integer, got ${v}`);
    }
    this.x = new Float32Array(capacity * dX);
    this.u = new Float32Array(capacity * dU);
    this.r = new Float32Array(capacity);
    this.x2 = new Float32Array(capacity * dX);
    this.term = new Uint8Array(capacity);
    this.tIdx = new Int32Array(capacity);
  }

  /** Number of stored transitions, <= capacity. */
  get size(): number {
    return this.count;
  }

  /**
   * Stores (x, u, r, x', terminal, t), overwriting the oldest transition when full.
   * `terminal` is true only for a true terminal state; time-limit ends are not terminal.
   * @throws Error naming the argument when a length is wrong, a value is not finite, or t is not
   *   a non-negative integer (a NaN in replay would poison every minibatch that samples it).
   */
  add(x: ArrayLike<number>, u: ArrayLike<number>, r: number, x2: ArrayLike<number>, terminal: boolean, t: number): void {
    checkVector('x', x, this.dX);
    checkVector('u', u, this.dU);
    checkVector('x2', x2, this.dX);
    if (!Number.isFinite(r)) throw new Error(`ReplayBuffer.add: reward r must be finite, got ${r}`);
    if (!Number.isInteger(t) || t < 0) throw new Error(`ReplayBuffer.add: t must be a non-negative integer, got ${t}`);
    const k = this.head;
    this.x.set(x, k * this.dX);
    this.u.set(u, k * this.dU);
    this.r[k] = r;
    this.x2.set(x2, k * this.dX);
    this.term[k] = terminal ? 1 : 0;
    this.tIdx[k] = t;
    this.head = (k + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** n logical indices drawn uniformly with replacement from [0, size). @throws Error when empty. */
  sampleIndices(n: number, rng: Rng): Int32Array {
    if (this.count === 0) throw new Error('ReplayBuffer.sample: the buffer is empty');
    if (!Number.isInteger(n) || n < 1) throw new Error(`ReplayBuffer.sample: n must be a positive integer, got ${n}`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.int(this.count);
    return out;
  }

  /**
   * A minibatch of B transitions drawn uniformly with replacement (fresh arrays).
   * @throws Error when the buffer is empty or B is not a positive integer.
   */
  sample(B: number, rng: Rng): TransitionBatch {
    const idx = this.sampleIndices(B, rng);
    const { dX, dU } = this;
    const batch: TransitionBatch = {
      x: new Float32Array(B * dX),
      u: new Float32Array(B * dU),
      r: new Float32Array(B),
      x2: new Float32Array(B * dX),
      terminal: new Float32Array(B),
      B,
    };
    for (let i = 0; i < B; i++) {
      const k = this.slot(idx[i]);
      batch.x.set(this.x.subarray(k * dX, (k + 1) * dX), i * dX);
      batch.u.set(this.u.subarray(k * dU, (k + 1) * dU), i * dU);
      batch.r[i] = this.r[k];
      batch.x2.set(this.x2.subarray(k * dX, (k + 1) * dX), i * dX);
      batch.terminal[i] = this.term[k];
    }
    return batch;
  }

  /** Transition at logical index i (0 = oldest). @throws RangeError outside [0, size). */
  get(i: number): Transition {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`ReplayBuffer.get: index ${i} outside [0, ${this.count})`);
    }
    const k = this.slot(i);
    const { dX, dU } = this;
    return {
      x: this.x.slice(k * dX, (k + 1) * dX),
      u: this.u.slice(k * dU, (k + 1) * dU),
      r: this.r[k],
      x2: this.x2.slice(k * dX, (k + 1) * dX),
      terminal: this.term[k] === 1,
      t: this.tIdx[k],
    };
  }

  /** Empties the buffer (capacity and storage are kept). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /**
   * Copy of the contents for a checkpoint: only the filled slots [0, size) — a buffer of
   * capacity 10^6 holding 10^4 transitions checkpoints 10^4 rows, not 10^6.
   */
  getState(): ReplayState {
    const { dX, dU, count: n } = this;
    return {
      capacity: this.capacity,
      dX,
      dU,
      head: this.head,
      size: n,
      x: this.x.slice(0, n * dX),
      u: this.u.slice(0, n * dU),
      r: this.r.slice(0, n),
      x2: this.x2.slice(0, n * dX),
      terminal: this.term.slice(0, n),
      t: this.tIdx.slice(0, n),
    };
  }

  /** A buffer rebuilt from `getState()` output. @throws Error naming the inconsistent field. */
  static fromState(s: ReplayState): ReplayBuffer {
    const b = new ReplayBuffer(s?.capacity, s?.dX, s?.dU);
    b.setState(s);
    return b;
  }

  /**
   * Loads `getState()` output into this buffer (same capacity, dX, dU).
   * @throws Error naming the mismatching or inconsistent field; the buffer is unchanged then.
   */
  setState(s: ReplayState): void {
    const { capacity, dX, dU } = this;
    if (s?.capacity !== capacity || s.dX !== dX || s.dU !== dU) {
      throw new Error(
        `ReplayBuffer.setState: state is capacity=${s?.capacity}, dX=${s?.dX}, dU=${s?.dU}; buffer is capacity=${capacity}, dX=${dX}, dU=${dU}`,
      );
    }
    if (!Number.isInteger(s.size) || s.size < 0 || s.size > capacity) throw new Error(`ReplayBuffer.setState: size ${s.size} outside [0, ${capacity}]`);
    if (!Number.isInteger(s.head) || s.head < 0 || s.head >= capacity) throw new Error(`ReplayBuffer.setState: head ${s.head} outside [0, ${capacity})`);
    if (s.size < capacity && s.head !== s.size) throw new Error(`ReplayBuffer.setState: head ${s.head} must equal size ${s.size} while not full`);
    const n = s.size;
    const want: [keyof ReplayState, Function, number][] = [
      ['x', Float32Array, n * dX],
      ['u', Float32Array, n * dU],
      ['r', Float32Array, n],
      ['x2', Float32Array, n * dX],
      ['terminal', Uint8Array, n],
      ['t', Int32Array, n],
    ];
    for (const [k, ctor, n] of want) {
      const a = s[k] as ArrayLike<number>;
      if (!(a instanceof ctor) || a.length !== n) {
        throw new Error(`ReplayBuffer.setState: '${String(k)}' must be a ${ctor.name} of ${n} values, got length ${a?.length}`);
      }
    }
    // Storage stays preallocated at full capacity; the filled rows are copied in.
    this.x.set(s.x);
    this.u.set(s.u);
    this.r.set(s.r);
    this.x2.set(s.x2);
    this.term.set(s.terminal);
    this.tIdx.set(s.t);
    this.head = s.head;
    this.count = s.size;
  }

  /** Ring slot of logical index i. */
  private slot(i: number): number {
    const oldest = this.count < this.capacity ? 0 : this.head;
    return (oldest + i) % this.capacity;
  }
}

function checkVector(name: string, v: ArrayLike<number>, n: number): void {
  if (!v || v.length !== n) throw new Error(`ReplayBuffer.add: ${name} must have ${n} values, got ${v?.length}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`ReplayBuffer.add: ${name}[${i}] is not finite (${v[i]})`);
  }
}
