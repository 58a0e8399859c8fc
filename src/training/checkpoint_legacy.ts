/**
 * Reader of the previous checkpoint format (`naf_ros-checkpoint-1`, written until the
 * single-file format of `checkpoint.ts`): a folder `ckpt-<episode>/` with `manifest.json`
 * (`{sha256, body}`, body = `{format, created, label, tree, blobs}`) and one `blob-<i>.bin` per
 * typed array, each with its dtype, length and SHA-256 in the manifest. Read-only: nothing
 * writes this format any more; old runs resume, evaluate and deploy from it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;
const DTYPES = { Float32Array, Float64Array, Int32Array, Uint8Array } as const;
type DType = keyof typeof DTYPES;
interface BlobInfo { file: string; dtype: DType; length: number; sha256: string }
interface Manifest { format: string; created: string; label: string; tree: unknown; blobs: BlobInfo[] }

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** True when `path` is a folder with a `manifest.json` (a checkpoint of the previous format). */
export function isLegacyCheckpoint(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'manifest.json'));
}

function unpack(tree: unknown, arrays: Typed[]): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$blob === 'number') return arrays[o.$blob];
      if (typeof o.$num === 'string') return Number(o.$num);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(tree);
}

/**
 * Reads and verifies a checkpoint folder of the previous format.
 * @throws CheckpointError naming what is wrong (missing file, bad JSON, checksum, size).
 */
export function readLegacyCheckpoint(path: string): { label: string; created: string; state: unknown } {
  let outer: { sha256?: string; body?: string };
  try {
    outer = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${path}: unreadable manifest.json (${(e as Error).message})`);
  }
  if (typeof outer.body !== 'string' || outer.sha256 !== sha256(outer.body)) {
    throw new CheckpointError(`${path}: manifest checksum mismatch (truncated or edited)`);
  }
  const m = JSON.parse(outer.body) as Manifest;
  if (m.format !== 'naf_ros-checkpoint-1') throw new CheckpointError(`${path}: unknown format ${JSON.stringify(m.format)}`);
  const arrays = m.blobs.map((b) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(path, b.file));
    } catch {
      throw new CheckpointError(`${path}: missing ${b.file}`);
    }
    const Ctor = DTYPES[b.dtype];
    if (!Ctor || bytes.byteLength !== b.length * Ctor.BYTES_PER_ELEMENT) {
      throw new CheckpointError(`${path}: ${b.file} has ${bytes.byteLength} bytes, expected ${b.length} x ${b.dtype}`);
    }
    if (sha256(bytes) !== b.sha256) throw new CheckpointError(`${path}: ${b.file} checksum mismatch`);
    const out = new Ctor(b.length);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  });
  return { label: m.label, created: m.created, state: unpack(m.tree, arrays) };
}
