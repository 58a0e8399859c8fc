import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, listCheckpoints, readCheckpoint, readLatestCheckpoint, writeCheckpoint } from '../src/training/checkpoint.js';

const state = (k: number) => ({
  episode: k,
  agent: { tensors: [{ name: 'mu/W0', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, k]) }] },
  replay: { x: new Float32Array(1000).fill(k), size: 10, head: 10 },
  rng: { arc4: { i: 1, j: 2, S: [3, 4] }, spare: null },
  loss: NaN,
  traj: [new Float64Array([0.5, -Infinity])],
});

const fresh = () => mkdtempSync(join(tmpdir(), 'naf-ckpt-'));

test('round trip keeps typed arrays, dtypes, non-finite numbers and nesting', () => {
  const dir = fresh();
  const path = writeCheckpoint(dir, '000003', state(3));
  const back = readCheckpoint(path).state as ReturnType<typeof state>;
  assert.deepEqual(back.agent.tensors[0].data, Float32Array.from([1, 2, 3, 4, 5, 3]));
  assert.ok(back.replay.x instanceof Float32Array);
  assert.ok(back.traj[0] instanceof Float64Array);
  assert.equal(back.traj[0][1], -Infinity);
  assert.ok(Number.isNaN(back.loss));
  assert.deepEqual(back.rng, state(3).rng);
});

test('keeps the newest `keep` checkpoints and leaves no temporary folder', () => {
  const dir = fresh();
  for (let k = 1; k <= 4; k++) writeCheckpoint(dir, String(k).padStart(6, '0'), state(k), 2);
  assert.deepEqual(listCheckpoints(dir), ['ckpt-000003', 'ckpt-000004']);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.tmp')), []);
  assert.equal(readLatestCheckpoint(dir).label, '000004');
});

test('a truncated blob, an edited manifest and a missing file are refused by name', () => {
  const dir = fresh();
  writeCheckpoint(dir, '000001', state(1));
  const p = writeCheckpoint(dir, '000002', state(2));
  truncateSync(join(p, 'blob-1.bin'), 100);
  assert.throws(() => readCheckpoint(p), (e: Error) => e instanceof CheckpointError && /blob-1\.bin has 100 bytes/.test(e.message));
  // never silently falls back ...
  assert.throws(() => readLatestCheckpoint(dir), /--resume-fallback/);
  // ... only when asked, and says what it skipped
  const fb = readLatestCheckpoint(dir, true);
  assert.equal(fb.label, '000001');
  assert.match(fb.skipped[0], /ckpt-000002/);

  const m = join(dir, 'ckpt-000001', 'manifest.json');
  writeFileSync(m, readFileSync(m, 'utf8').replace('000001', '000009'));
  assert.throws(() => readCheckpoint(join(dir, 'ckpt-000001')), /manifest checksum mismatch/);
  writeFileSync(m, '{"sha256": "x", "bo');
  assert.throws(() => readCheckpoint(join(dir, 'ckpt-000001')), /unreadable manifest\.json/);

  const q = writeCheckpoint(fresh(), '000001', state(1));
  rmSync(join(q, 'blob-0.bin'));
  assert.throws(() => readCheckpoint(q), /missing blob-0\.bin/);
});

test('a flipped byte in a blob fails its checksum; an empty folder has no checkpoint', () => {
  const dir = fresh();
  const p = writeCheckpoint(dir, '000001', state(1));
  const f = join(p, 'blob-1.bin');
  const bytes = readFileSync(f);
  bytes[17] ^= 0xff;
  writeFileSync(f, bytes);
  assert.throws(() => readCheckpoint(p), /blob-1\.bin checksum mismatch/);
  const empty = join(fresh(), 'none');
  mkdirSync(empty);
  assert.throws(() => readLatestCheckpoint(empty), /no checkpoint/);
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
