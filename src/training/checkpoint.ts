/**
 * Crash-safe checkpoints of the complete training state.
 *
 * Layout: `<run>/checkpoints/ckpt-<episode>/` holding `manifest.json` and one binary file per
 * typed array. A state object is any JSON tree whose leaves may be typed arrays: `packState`
 * moves the arrays into blobs (replaced by `{ "$blob": i }`) and records each blob's dtype,
 * length and SHA-256; the manifest carries a SHA-256 of its own body.
 *
 * Writing is atomic: everything goes into `.tmp-<pid>-<n>/`, each file and the folder are
 * fsync'ed, then the folder is renamed into place and the parent fsync'ed. The previous good
 * checkpoint is deleted only after the new one is complete (`keep` newest are kept).
 * Reading verifies every checksum and size; a corrupt checkpoint is refused with a
 * `CheckpointError`, and older ones are tried only when the caller asks (`fallback`).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;
const DTYPES = { Float32Array, Float64Array, Int32Array, Uint8Array } as const;
type DType = keyof typeof DTYPES;

interface BlobInfo { file: string; dtype: DType; length: number; sha256: string }
interface Manifest { format: 'naf_ros-checkpoint-1'; created: string; label: string; tree: unknown; blobs: BlobInfo[] }

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const bytesOf = (a: Typed) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Splits typed arrays out of a state tree. */
export function packState(state: unknown): { tree: unknown; arrays: Typed[] } {
  const arrays: Typed[] = [];
  const walk = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) {
      const name = v.constructor.name as DType;
      if (!(name in DTYPES)) throw new CheckpointError(`cannot checkpoint a ${name}`);
      arrays.push(v as Typed);
      return { $blob: arrays.length - 1 };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  };
  return { tree: walk(state), arrays };
}

/** Inverse of `packState`. */
export function unpackState(tree: unknown, arrays: Typed[]): unknown {
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

function writeFileSynced(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

let tmpCounter = 0;

/**
 * Writes `state` atomically as `<dir>/ckpt-<label>` and prunes all but the `keep` newest.
 * @returns the checkpoint folder.
 */
export function writeCheckpoint(dir: string, label: string, state: unknown, keep = 2): string {
  mkdirSync(dir, { recursive: true });
  const { tree, arrays } = packState(state);
  const tmp = join(dir, `.tmp-${process.pid}-${tmpCounter++}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const blobs: BlobInfo[] = arrays.map((a, i) => {
    const bytes = bytesOf(a);
    const file = `blob-${i}.bin`;
    writeFileSynced(join(tmp, file), bytes);
    return { file, dtype: a.constructor.name as DType, length: a.length, sha256: sha256(bytes) };
  });
  const manifest: Manifest = { format: 'naf_ros-checkpoint-1', created: new Date().toISOString(), label, tree, blobs };
  const body = JSON.stringify(manifest);
  writeFileSynced(join(tmp, 'manifest.json'), JSON.stringify({ sha256: sha256(body), body }));
  fsyncDir(tmp);
  const final = join(dir, `ckpt-${label}`);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncDir(dir);
  for (const old of listCheckpoints(dir).slice(0, -keep)) rmSync(join(dir, old), { recursive: true, force: true });
  return final;
}

/** Checkpoint folder names, oldest first (by label, zero-padded episode numbers sort correctly). */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.startsWith('ckpt-')).sort();
}

/**
 * Reads and verifies one checkpoint folder.
 * @throws CheckpointError naming what is wrong (missing file, bad JSON, checksum, size).
 */
export function readCheckpoint(path: string): { label: string; created: string; state: unknown } {
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
    bytesOf(out).set(bytes);
    return out;
  });
  return { label: m.label, created: m.created, state: unpackState(m.tree, arrays) };
}

/**
 * The newest checkpoint of `dir` that verifies. Without `fallback`, a corrupt newest checkpoint
 * is an error (never silently skipped); with it, older ones are tried and the skipped ones
 * reported in `skipped`.
 * @throws CheckpointError when there is none, or the newest is corrupt and fallback is off.
 */
export function readLatestCheckpoint(dir: string, fallback = false): { path: string; label: string; state: unknown; skipped: string[] } {
  const names = listCheckpoints(dir).reverse();
  if (names.length === 0) throw new CheckpointError(`no checkpoint in ${dir}`);
  const skipped: string[] = [];
  for (const n of names) {
    try {
      const c = readCheckpoint(join(dir, n));
      return { path: join(dir, n), label: c.label, state: c.state, skipped };
    } catch (e) {
      if (!fallback) throw new CheckpointError(`${(e as Error).message} (use --resume-fallback to load the previous good checkpoint)`);
      skipped.push(`${n}: ${(e as Error).message}`);
    }
  }
  throw new CheckpointError(`no valid checkpoint in ${dir}: ${skipped.join('; ')}`);
}
