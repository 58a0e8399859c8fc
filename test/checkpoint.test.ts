import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointError, listCheckpoints, markBest, readCheckpoint, readLatestCheckpoint, resolveCheckpoint, writeCheckpoint,
} from '../src/training/checkpoint.js';

const state = (k: number) => ({
  episode: k,
  agent: { kind: 'naf', tensors: [{ name: 'mu/W0', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, k]) }], scalars: { step: k } },
  replay: { x: new Float32Array(1000).fill(k), t: Int32Array.from([1, 2]), terminal: new Uint8Array(3), size: 10, head: 10 },
  rng: { arc4: { i: 1, j: 2, S: [3, 4] }, spare: null },
  loss: NaN,
  empty: new Float64Array(0),
  traj: [new Float64Array([0.5, -Infinity])],
});

const fresh = () => mkdtempSync(join(tmpdir(), 'naf-ckpt-'));

test('one file per checkpoint; round trip keeps typed arrays, dtypes, shapes, non-finite numbers and nesting', () => {
  const dir = fresh();
  const path = writeCheckpoint(dir, '000003', state(3));
  assert.equal(path, join(dir, 'ckpt-000003.safetensors'));
  assert.ok(statSync(path).isFile());
  const back = readCheckpoint(path).state as ReturnType<typeof state>;
  assert.deepEqual(back.agent.tensors[0].data, Float32Array.from([1, 2, 3, 4, 5, 3]));
  assert.ok(back.replay.x instanceof Float32Array && back.replay.t instanceof Int32Array && back.replay.terminal instanceof Uint8Array);
  assert.ok(back.traj[0] instanceof Float64Array);
  assert.equal(back.traj[0][1], -Infinity);
  assert.equal(back.empty.length, 0);
  assert.ok(Number.isNaN(back.loss));
  assert.deepEqual(back.rng, state(3).rng);
  assert.deepEqual(back.agent.scalars, { step: 3 });
});

test('the file is a valid safetensors container: header length, index with dtype/shape/offsets, contiguous data', () => {
  const path = writeCheckpoint(fresh(), '000001', state(1));
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'header padded to 8 bytes');
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  assert.equal(header.__metadata__.format, 'naf_ros-checkpoint-2');
  assert.ok(Object.values(header.__metadata__).every((v) => typeof v === 'string'), 'metadata is str -> str');
  assert.deepEqual(header['agent.tensors.0.data'], { dtype: 'F32', shape: [2, 3], data_offsets: header['agent.tensors.0.data'].data_offsets });
  assert.equal(header['replay.t'].dtype, 'I32');
  assert.equal(header['traj.0'].dtype, 'F64');
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, e]) => (e as { data_offsets: number[] }).data_offsets).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [b, e] of entries) { assert.equal(b, at); at = e; }
  assert.equal(at, bytes.byteLength - 8 - n, 'the tensors cover the data exactly');
});

test('keeps the newest `keep` checkpoints and best, leaves no temporary file', () => {
  const dir = fresh();
  for (let k = 1; k <= 4; k++) {
    const p = writeCheckpoint(dir, String(k).padStart(6, '0'), state(k), 2);
    if (k === 2) markBest(p);
  }
  assert.deepEqual(listCheckpoints(dir), ['ckpt-000003.safetensors', 'ckpt-000004.safetensors']);
  assert.deepEqual(readdirSync(dir).sort(), ['best.safetensors', 'ckpt-000003.safetensors', 'ckpt-000004.safetensors']);
  assert.equal((readCheckpoint(join(dir, 'best.safetensors')).state as { episode: number }).episode, 2, 'best survives the pruning of its source');
  assert.equal(readLatestCheckpoint(dir).label, '000004');
});

test('a truncated file, a flipped data byte and an edited header are refused by name', () => {
  const dir = fresh();
  writeCheckpoint(dir, '000001', state(1));
  const p = writeCheckpoint(dir, '000002', state(2));
  truncateSync(p, statSync(p).size - 100);
  assert.throws(() => readCheckpoint(p), (e: Error) => e instanceof CheckpointError && /ckpt-000002\.safetensors: tensor .* truncated|bytes after/.test(e.message));
  // never silently falls back ...
  assert.throws(() => readLatestCheckpoint(dir), /--resume-fallback/);
  // ... only when asked, and says what it skipped
  const fb = readLatestCheckpoint(dir, true);
  assert.equal(fb.label, '000001');
  assert.match(fb.skipped[0], /ckpt-000002/);

  const q = writeCheckpoint(fresh(), '000001', state(1));
  const bytes = readFileSync(q);
  bytes[bytes.byteLength - 5] ^= 0xff;
  writeFileSync(q, bytes);
  assert.throws(() => readCheckpoint(q), /tensor traj\.0: checksum mismatch/);

  const r = writeCheckpoint(fresh(), '000001', state(1));
  writeFileSync(r, readFileSync(r, 'latin1').replace('"label":"000001"', '"label":"000009"'), 'latin1');
  assert.throws(() => readCheckpoint(r), /header checksum mismatch/);
  writeFileSync(r, Buffer.from([1, 2, 3]));
  assert.throws(() => readCheckpoint(r), /too short for a checkpoint/);
  const empty = join(fresh(), 'none');
  mkdirSync(empty);
  assert.throws(() => readLatestCheckpoint(empty), /no checkpoint/);
});

test('checkpoint folders of the previous format still load, resolve and verify', () => {
  const fixture = new URL('./fixtures/legacy-checkpoints/ckpt-0000003', import.meta.url).pathname;
  const c = readCheckpoint(fixture);
  const s = c.state as { episode: number; agent: { tensors: { data: Float32Array }[] }; traj: Float64Array[]; loss: number };
  assert.equal(c.label, '0000003');
  assert.deepEqual(s.agent.tensors[0].data, Float32Array.from([1, 2, 3, 4, 5, 6]));
  assert.equal(s.traj[0][1], -Infinity);
  assert.ok(Number.isNaN(s.loss));
  // in a run folder next to new checkpoints, ordered by episode
  const run = fresh();
  cpSync(fixture, join(run, 'checkpoints', 'ckpt-0000003'), { recursive: true });
  assert.equal(readLatestCheckpoint(join(run, 'checkpoints')).label, '0000003');
  writeCheckpoint(join(run, 'checkpoints'), '0000004', state(4));
  assert.deepEqual(listCheckpoints(join(run, 'checkpoints')), ['ckpt-0000003', 'ckpt-0000004.safetensors']);
  assert.equal(resolveCheckpoint(join(run, 'checkpoints', 'ckpt-0000003')).path, join(run, 'checkpoints', 'ckpt-0000003'));
  // a damaged one is refused with its reason
  const broken = join(fresh(), 'ckpt-0000003');
  cpSync(fixture, broken, { recursive: true });
  truncateSync(join(broken, 'blob-0.bin'), 4);
  assert.throws(() => readCheckpoint(broken), /blob-0\.bin has 4 bytes/);
});

test('--checkpoint takes a run folder, a file, a file without its extension; anything else names where it looked', () => {
  const run = fresh();
  const dir = join(run, 'checkpoints');
  const p1 = writeCheckpoint(dir, '0000001', state(1));
  const p2 = writeCheckpoint(dir, '0000002', state(2));
  markBest(p1);
  assert.deepEqual(resolveCheckpoint(run), { path: p2, runDir: run });
  assert.deepEqual(resolveCheckpoint(join(dir, 'best')), { path: join(dir, 'best.safetensors'), runDir: run });
  assert.deepEqual(resolveCheckpoint(p1), { path: p1, runDir: run });
  assert.throws(() => resolveCheckpoint(join(run, 'typo')), /no checkpoint at .*typo: expected a run folder \(with checkpoints\/\), a checkpoint file \(\.safetensors\)/);
  const emptyRun = fresh();
  mkdirSync(join(emptyRun, 'checkpoints'));
  assert.throws(() => resolveCheckpoint(emptyRun), /has no checkpoint yet/);
  assert.ok(!existsSync(join(dir, 'best')));
});

test('a checkpoint with NaN weights (valid checksums) is refused when loaded into the agent', async () => {
  const { NafAgent } = await import('../src/agent/naf/agent.js');
  const a = new NafAgent({ dX: 4, dU: 2, uMax: Float64Array.from([1, 1]), hidden: [8, 8] });
  const s = await a.getState();
  s.tensors[0].data[3] = NaN;
  const back = readCheckpoint(writeCheckpoint(fresh(), '000001', s)).state as typeof s;
  await assert.rejects(a.setState(back), /agent state: tensor '.+' has a non-finite value \(NaN\) at index 3/);
  a.dispose();
});
