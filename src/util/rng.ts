/**
 * Seeded random numbers whose state can be saved in a checkpoint and restored exactly.
 *
 * Built on `seedrandom` (ARC4, `state: true`), so a training run is reproducible from its seed and
 * resumable from a checkpoint without replaying the stream.
 */
import seedrandom from 'seedrandom';

/** Opaque generator state, JSON-serialisable (goes into checkpoints). */
export type RngState = { arc4: object; spare: number | null };

export class Rng {
  /** seedrandom's ARC4 generator created with `state: true` (its typings omit `.state()`). */
  private prng: seedrandom.PRNG & { state(): object };
  /** Second normal deviate of the last Box-Muller pair, or null. */
  private spare: number | null = null;

  /** @param seed any string or integer; the same seed gives the same stream. */
  constructor(seed: string | number, state?: RngState) {
    const make = seedrandom as unknown as (s: string, o: { state: boolean | object }) => Rng['prng'];
    this.prng = state ? make('', { state: state.arc4 }) : make(String(seed), { state: true });
    if (state) this.spare = state.spare;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.prng();
  }

  /** Integer uniform in [0, n). @throws RangeError when n < 1. */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int: n must be >= 1, got ${n}`);
    return Math.floor(this.prng() * n);
  }

  /** Standard normal deviate (Box-Muller, polar form). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let a: number, b: number, s: number;
    do {
      a = 2 * this.prng() - 1;
      b = 2 * this.prng() - 1;
      s = a * a + b * b;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = b * f;
    return a * f;
  }

  /** Fills `out` with standard normal deviates and returns it. */
  normals(out: Float64Array): Float64Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** A child generator whose stream is derived from this one (for independent components). */
  fork(label: string): Rng {
    return new Rng(`${label}:${Math.floor(this.prng() * 2 ** 52)}`);
  }

  /** JSON-serialisable state; `new Rng(0, rng.state())` continues the same stream. */
  state(): RngState {
    return { arc4: this.prng.state(), spare: this.spare };
  }
}
