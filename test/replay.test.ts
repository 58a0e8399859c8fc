import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayBuffer } from '../src/agent/replay.js';
import { Rng } from '../src/util/rng.js';

/** Transition number k: x = [k, k+0.5], u = [-k], r = 10k, x2 = x + 1, terminal every 3rd, t = k % 5. */
function addK(b: ReplayBuffer, k: number): void {
  b.add([k, k + 0.5], [-k], 10 * k, [k + 1, k + 1.5], k % 3 === 0, k % 5);
}

test('ReplayBuffer: wrap-around overwrites the oldest, get(0) is the oldest', () => {
  const b = new ReplayBuffer(4, 2, 1);
  for (let k = 0; k < 6; k++) addK(b, k);
  assert.equal(b.size, 4);
  assert.equal(b.capacity, 4);
  const ks = [0, 1, 2, 3].map((i) => b.get(i).x[0]);
  assert.deepEqual(ks, [2, 3, 4, 5]);
  const tr = b.get(3);
  assert.deepEqual(Array.from(tr.x), [5, 5.5]);
  assert.deepEqual(Array.from(tr.u), [-5]);
  assert.equal(tr.r, 50);
  assert.deepEqual(Array.from(tr.x2), [6, 6.5]);
  assert.equal(tr.terminal, false);
  assert.equal(b.get(1).terminal, true); // k = 3
  assert.equal(tr.t, 0);
  assert.throws(() => b.get(4), RangeError);
});

test('ReplayBuffer.sample: only valid entries, consistent rows, roughly uniform', () => {
  const b = new ReplayBuffer(100, 2, 1);
  for (let k = 0; k < 7; k++) addK(b, k); // partially filled: slots 7..99 hold zeros
  const rng = new Rng(3);
  const counts = new Array(7).fill(0);
  const batch = b.sample(7000, rng);
  assert.equal(batch.B, 7000);
  for (let i = 0; i < batch.B; i++) {
    const k = batch.x[2 * i];
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7, `sampled an invalid entry ${k}`);
    assert.equal(batch.x[2 * i + 1], k + 0.5);
    assert.equal(batch.u[i], -k);
    assert.equal(batch.r[i], 10 * k);
    assert.equal(batch.x2[2 * i], k + 1);
    assert.equal(batch.terminal[i], k % 3 === 0 ? 1 : 0);
    counts[k]++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 1000) < 150, `counts ${counts}`);
  const idx = b.sampleIndices(500, rng);
  assert.ok(idx.every((i) => i >= 0 && i < 7));
});

test('ReplayBuffer: after wrap-around sampling never returns overwritten transitions', () => {
  const b = new ReplayBuffer(5, 2, 1);
  for (let k = 0; k < 13; k++) addK(b, k);
  const batch = b.sample(2000, new Rng(4));
  const seen = new Set<number>();
  for (let i = 0; i < batch.B; i++) seen.add(batch.x[2 * i]);
  assert.deepEqual([...seen].sort((a, c) => a - c), [8, 9, 10, 11, 12]);
});

test('ReplayBuffer: state round trip (also through structuredClone) and clear', () => {
  const b = new ReplayBuffer(5, 2, 1);
  for (let k = 0; k < 8; k++) addK(b, k);
  const s = structuredClone(b.getState());
  const c = ReplayBuffer.fromState(s);
  assert.equal(c.size, 5);
  for (let i = 0; i < 5; i++) assert.deepEqual(c.get(i), b.get(i));
  // the same next insertion position: both overwrite the same oldest entry
  addK(b, 8);
  addK(c, 8);
  for (let i = 0; i < 5; i++) assert.deepEqual(c.get(i), b.get(i));
  assert.deepEqual(c.sample(20, new Rng(9)), b.sample(20, new Rng(9)));
  c.clear();
  assert.equal(c.size, 0);
  assert.throws(() => c.sample(1, new Rng(1)), /empty/);
});

test('ReplayBuffer: bad input and inconsistent state give errors naming the field', () => {
  const b = new ReplayBuffer(3, 2, 1);
  assert.throws(() => b.add([1], [0], 0, [1, 2], false, 0), /x must have 2 values/);
  assert.throws(() => b.add([1, 2], [0], NaN, [1, 2], false, 0), /reward r must be finite/);
  assert.throws(() => b.add([1, 2], [Infinity], 0, [1, 2], false, 0), /u\[0\] is not finite/);
  assert.throws(() => b.add([1, 2], [0], 0, [1, 2], false, -1), /t must be a non-negative integer/);
  assert.throws(() => new ReplayBuffer(0, 2, 1), /capacity must be a positive integer/);
  addK(b, 1);
  const s = b.getState();
  assert.throws(() => ReplayBuffer.fromState({ ...s, x: new Float32Array(5) }), /'x' must be a Float32Array of 2 values/); // size 1 x dX 2: only filled rows are stored
  assert.throws(() => ReplayBuffer.fromState({ ...s, size: 4 }), /size 4 outside/);
  assert.throws(() => new ReplayBuffer(3, 3, 1).setState(s), /state is capacity=3, dX=2/);
});
