/**
 * Crash-safe checkpoints of the complete training state, one file each.
 *
 * Format: safetensors (Hugging Face's tensor container: an 8-byte little-endian header length,
 * a JSON header indexing every tensor by name with dtype, shape and byte offsets, then the raw
 * bytes; https://github.com/huggingface/safetensors, "Format"). Any safetensors reader opens a
 * naf_ros checkpoint, e.g. Python `safetensors.safe_open(path, 'np')`.
 *
 * A state is any JSON tree whose leaves may be typed arrays (Float32/Float64/Int32/Uint8Array).
 * `packState` moves each array into a tensor named by its path in the tree
 * (`learner.agent.tensors.3.data`); an object `{shape, data}` whose shape matches its data keeps
 * that shape, every other array is 1-D. Nothing here knows which tensors an agent has: the
 * serialisation is generic. The rest of the tree (numbers, strings, the config, RNG states) is
 * JSON in the header's `__metadata__.tree`, with `{"$tensor": name}` where an array was and
 * `{"$num": "NaN"}` for non-finite numbers.
 *
 * Integrity: `__metadata__.sha256` holds the SHA-256 of every tensor's bytes, and
 * `__metadata__.header_sha256` the SHA-256 of the whole header text with that value written as
 * 64 zeros. Reading verifies the length fields, the offsets (contiguous, covering the data
 * exactly, sizes matching dtype and shape) and every checksum; any mismatch is a
 * `CheckpointError` naming the file and what is wrong.
 *
 * Writing is atomic: the file is written as `.tmp-<pid>-<n>` in the same folder, fsync'ed,
 * renamed into place, and the folder fsync'ed. Older checkpoints are pruned only afterwards
 * (`keep` newest); `best.safetensors` is never pruned.
 *
 * Checkpoints of the previous format (folders `ckpt-<episode>/` with `manifest.json` and one
 * file per array) are still read (`checkpoint_legacy.ts`).
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BEST_CHECKPOINT, CHECKPOINT_EXT, RUN_FILES } from '../report/run_folder.js';
import { CheckpointError, isLegacyCheckpoint, readLegacyCheckpoint } from './checkpoint_legacy.js';

export { CheckpointError };

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array;
/** safetensors dtype names of the typed arrays a state may hold. */
const DTYPES: Record<string, { ctor: { new(n: number): Typed; BYTES_PER_ELEMENT: number }; st: string }> = {
  Float32Array: { ctor: Float32Array, st: 'F32' },
  Float64Array: { ctor: Float64Array, st: 'F64' },
  Int32Array: { ctor: Int32Array, st: 'I32' },
  Uint8Array: { ctor: Uint8Array, st: 'U8' },
};
const FROM_ST = Object.fromEntries(Object.values(DTYPES).map((d) => [d.st, d.ctor]));
export const CHECKPOINT_FORMAT = 'naf_ros-checkpoint-2';
const ZERO_HASH = '0'.repeat(64);
/** Headers above this are refused as corrupt (a 10-episode-batch state has ~0.3 MB). */
const MAX_HEADER_BYTES = 256 * 1024 * 1024;

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const bytesOf = (a: Typed) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

interface Tensor { name: string; data: Typed; shape: number[] }

/** Splits the typed arrays out of a state tree into named tensors. */
export function packState(state: unknown): { tree: unknown; tensors: Tensor[] } {
  const tensors: Tensor[] = [];
  const walk = (v: unknown, path: string, shape?: unknown): unknown => {
    if (ArrayBuffer.isView(v)) {
      const kind = v.constructor.name;
      if (!(kind in DTYPES)) throw new CheckpointError(`cannot checkpoint a ${kind} (at ${path})`);
      const data = v as Typed;
      const dims = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0) && shape.reduce((p, d) => p * d, 1) === data.length ? shape as number[] : [data.length];
      tensors.push({ name: path, data, shape: dims });
      return { $tensor: path };
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}.${i}`));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x, path ? `${path}.${k}` : k, k === 'data' ? o.shape : undefined)]));
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  };
  return { tree: walk(state, ''), tensors };
}

/** Inverse of `packState`. */
export function unpackState(tree: unknown, tensors: Map<string, Typed>): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$tensor === 'string') {
        const t = tensors.get(o.$tensor);
        if (!t) throw new CheckpointError(`tensor ${o.$tensor} is missing`);
        return t;
      }
      if (typeof o.$num === 'string') return Number(o.$num);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(tree);
}

/** The bytes of a checkpoint file for `state`. */
export function encodeCheckpoint(state: unknown, label: string): Buffer {
  const { tree, tensors } = packState(state);
  const header: Record<string, unknown> = {};
  const sums: Record<string, string> = {};
  let offset = 0;
  for (const t of tensors) {
    const n = t.data.byteLength;
    header[t.name] = { dtype: DTYPES[t.data.constructor.name].st, shape: t.shape, data_offsets: [offset, offset + n] };
    sums[t.name] = sha256(bytesOf(t.data));
    offset += n;
  }
  const metadata = {
    header_sha256: ZERO_HASH, format: CHECKPOINT_FORMAT, label, created: new Date().toISOString(),
    sha256: JSON.stringify(sums), tree: JSON.stringify(tree),
  };
  let text = JSON.stringify({ __metadata__: metadata, ...header });
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8); // the spec's 8-byte alignment padding
  text = text.replace(`"header_sha256":"${ZERO_HASH}"`, `"header_sha256":"${sha256(text)}"`);
  const head = Buffer.from(text);
  const out = Buffer.alloc(8 + head.byteLength + offset);
  out.writeBigUInt64LE(BigInt(head.byteLength), 0);
  head.copy(out, 8);
  let at = 8 + head.byteLength;
  for (const t of tensors) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parses and verifies the bytes of a checkpoint file.
 * @throws CheckpointError naming `path` and what is wrong.
 */
export function decodeCheckpoint(bytes: Uint8Array, path: string): { label: string; created: string; state: unknown } {
  const fail = (why: string): never => { throw new CheckpointError(`${path}: ${why}`); };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < 8) fail(`${buf.byteLength} bytes: too short for a checkpoint (truncated)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > MAX_HEADER_BYTES || 8 + n > buf.byteLength) fail(`header length ${n} exceeds the file (${buf.byteLength} bytes): truncated or not a checkpoint`);
  const text = buf.subarray(8, 8 + n).toString('utf8');
  type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
  let header: Record<string, unknown>;
  try { header = JSON.parse(text); } catch (e) { return fail(`unreadable header (${(e as Error).message})`); }
  const meta = header.__metadata__ as Record<string, string> | undefined;
  if (!meta || meta.format !== CHECKPOINT_FORMAT) fail(`not a naf_ros checkpoint (format ${JSON.stringify(meta?.format)}, expected ${CHECKPOINT_FORMAT})`);
  const zeroed = text.replace(`"header_sha256":"${meta!.header_sha256}"`, `"header_sha256":"${ZERO_HASH}"`);
  if (zeroed === text || sha256(zeroed) !== meta!.header_sha256) fail('header checksum mismatch (edited or damaged)');
  const data = buf.subarray(8 + n);
  const sums = JSON.parse(meta!.sha256) as Record<string, string>;
  const entries = (Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, Entry][]).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  const tensors = new Map<string, Typed>();
  let expect = 0;
  for (const [name, e] of entries) {
    const Ctor = FROM_ST[e.dtype];
    if (!Ctor) fail(`tensor ${name}: unknown dtype ${e.dtype}`);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((p, d) => p * d, 1);
    if (begin !== expect || end - begin !== count * Ctor.BYTES_PER_ELEMENT) fail(`tensor ${name}: offsets [${begin}, ${end}] do not fit ${e.dtype} ${JSON.stringify(e.shape)} after byte ${expect}`);
    if (end > data.byteLength) fail(`tensor ${name} ends at byte ${end} of ${data.byteLength}: truncated`);
    const raw = data.subarray(begin, end);
    if (sha256(raw) !== sums[name]) fail(`tensor ${name}: checksum mismatch (damaged)`);
    const out = new Ctor(count);
    bytesOf(out).set(raw);
    tensors.set(name, out);
    expect = end;
  }
  if (expect !== data.byteLength) fail(`${data.byteLength - expect} bytes after the last tensor`);
  return { label: meta!.label, created: meta!.created, state: unpackState(JSON.parse(meta!.tree), tensors) };
}

function writeFileSynced(path: string, data: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
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
const tmpName = (dir: string) => join(dir, `.tmp-${process.pid}-${tmpCounter++}`);

/**
 * Writes `state` atomically as `<dir>/ckpt-<label>.safetensors` and prunes all but the `keep`
 * newest `ckpt-*` (never `best`).
 * @returns the checkpoint file.
 */
export function writeCheckpoint(dir: string, label: string, state: unknown, keep = 2): string {
  mkdirSync(dir, { recursive: true });
  const tmp = tmpName(dir);
  writeFileSynced(tmp, encodeCheckpoint(state, label));
  const final = join(dir, `ckpt-${label}${CHECKPOINT_EXT}`);
  rmSync(final, { recursive: true, force: true }); // a legacy folder of the same episode
  renameSync(tmp, final);
  fsyncDir(dir);
  for (const old of listCheckpoints(dir).slice(0, -keep)) rmSync(join(dir, old), { recursive: true, force: true });
  return final;
}

/**
 * Makes the checkpoint file `source` the run's best (`<dir>/best.safetensors`), atomically: a
 * hard link (no copy; the file survives the pruning of `source`), or a copy where links fail.
 * @returns the best checkpoint's path.
 */
export function markBest(source: string): string {
  const dir = dirname(source);
  const tmp = tmpName(dir);
  try { linkSync(source, tmp); } catch { copyFileSync(source, tmp); }
  const best = join(dir, BEST_CHECKPOINT);
  renameSync(tmp, best);
  fsyncDir(dir);
  return best;
}

/** `ckpt-*` checkpoints of `dir` (files and legacy folders), oldest first by episode label. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const label = (n: string) => n.slice(5).replace(CHECKPOINT_EXT, '');
  return readdirSync(dir).filter((n) => n.startsWith('ckpt-')).sort((a, b) => label(a).localeCompare(label(b)));
}

/**
 * Reads and verifies one checkpoint (a `.safetensors` file or a legacy folder).
 * @throws CheckpointError naming what is wrong.
 */
export function readCheckpoint(path: string): { label: string; created: string; state: unknown } {
  if (isLegacyCheckpoint(path)) return readLegacyCheckpoint(path);
  let bytes: Buffer;
  try { bytes = readFileSync(path); } catch (e) { throw new CheckpointError(`${path}: unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  return decodeCheckpoint(bytes, path);
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

/**
 * What a user may pass as `--checkpoint`: a run folder (its newest checkpoint), a checkpoint file
 * (`.safetensors`, the extension may be left out: `runs/<run>/checkpoints/best`), or a legacy
 * checkpoint folder.
 * @returns the checkpoint's path and its run folder (null when it is not inside one).
 * @throws CheckpointError saying where it looked.
 */
export function resolveCheckpoint(arg: string): { path: string; runDir: string | null } {
  const runOf = (file: string) => (basename(dirname(file)) === RUN_FILES.checkpoints ? dirname(dirname(file)) : null);
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  if (isDir(arg) && isDir(join(arg, RUN_FILES.checkpoints))) {
    const names = listCheckpoints(join(arg, RUN_FILES.checkpoints));
    if (!names.length) throw new CheckpointError(`run folder ${arg} has no checkpoint yet (${join(arg, RUN_FILES.checkpoints)} is empty)`);
    return { path: join(arg, RUN_FILES.checkpoints, names[names.length - 1]), runDir: arg };
  }
  if (isLegacyCheckpoint(arg)) return { path: arg, runDir: runOf(arg) };
  if (existsSync(arg) && !isDir(arg)) return { path: arg, runDir: runOf(arg) };
  if (existsSync(arg + CHECKPOINT_EXT)) return { path: arg + CHECKPOINT_EXT, runDir: runOf(arg + CHECKPOINT_EXT) };
  throw new CheckpointError(`no checkpoint at ${arg}: expected a run folder (with ${RUN_FILES.checkpoints}/), a checkpoint file (${CHECKPOINT_EXT}) or a checkpoint folder of the previous format (with manifest.json)${isDir(arg) ? `; ${arg} is a folder with neither` : ''}`);
}
