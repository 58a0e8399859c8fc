/**
 * Named tensors packed into one flat Float32Array.
 *
 * A learner keeps every trainable weight in one buffer `theta` (and its Adam moments `m`, `v` in
 * buffers of the same layout), so the optimiser, gradient clipping, the soft target update and the
 * divergence guard's finiteness check are single loops over whole buffers instead of one tfjs kernel
 * per weight tensor per operation (measured: those small kernels took most of an update's time).
 *
 * Entries are stored row-major, in the order given; `W` of a dense layer is [in, out] with the
 * inputs as rows (the layout of `DenseWeights` and of the plain-JS actor).
 */

export interface TensorSpec {
  name: string;
  shape: number[];
}

export interface LayoutEntry extends TensorSpec {
  /** first element in the flat buffer */
  offset: number;
  /** number of elements (product of shape) */
  size: number;
}

export class ParamLayout {
  readonly entries: readonly LayoutEntry[];
  /** total number of elements */
  readonly size: number;
  private readonly byName = new Map<string, LayoutEntry>();

  /** @throws Error on a duplicate name or a shape that is not a list of positive integers. */
  constructor(specs: readonly TensorSpec[]) {
    let offset = 0;
    const entries: LayoutEntry[] = [];
    for (const s of specs) {
      if (this.byName.has(s.name)) throw new Error(`ParamLayout: duplicate tensor '${s.name}'`);
      if (!s.shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`ParamLayout: '${s.name}' has shape [${s.shape}]; dimensions must be positive integers`);
      }
      const size = s.shape.reduce((a, b) => a * b, 1);
      const e = { name: s.name, shape: [...s.shape], offset, size };
      entries.push(e);
      this.byName.set(s.name, e);
      offset += size;
    }
    this.entries = entries;
    this.size = offset;
  }

  /** @throws Error naming the tensor when the layout has none of that name. */
  entry(name: string): LayoutEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`ParamLayout: no tensor '${name}'`);
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The elements of `name` inside `buf` (a view, not a copy). */
  view(buf: Float32Array, name: string): Float32Array {
    const e = this.entry(name);
    return buf.subarray(e.offset, e.offset + e.size);
  }

  /** A new buffer of this layout, zero-filled. */
  zeros(): Float32Array {
    return new Float32Array(this.size);
  }

  /**
   * [start, end) of the elements of every tensor whose name starts with one of `prefixes`.
   * @throws Error when those tensors are not one contiguous block (the caller's layout must put
   *   them next to each other, e.g. the value network first so that the target network is a prefix).
   */
  range(prefixes: readonly string[]): [number, number] {
    const picked = this.entries.filter((e) => prefixes.some((p) => e.name.startsWith(p)));
    if (picked.length === 0) throw new Error(`ParamLayout: no tensor starts with ${prefixes.join(' or ')}`);
    const start = picked[0].offset;
    const end = picked[picked.length - 1].offset + picked[picked.length - 1].size;
    if (picked.reduce((n, e) => n + e.size, 0) !== end - start) {
      throw new Error(`ParamLayout: the tensors under ${prefixes.join(', ')} are not contiguous`);
    }
    return [start, end];
  }

  /** The layout of the tensors whose names start with one of `prefixes`, in this order. */
  subset(prefixes: readonly string[]): ParamLayout {
    return new ParamLayout(this.entries.filter((e) => prefixes.some((p) => e.name.startsWith(p))));
  }
}
