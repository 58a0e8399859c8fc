/**
 * R_f with an age bound: transitions carry the refit generation of the model
 * that imagined them; after refit G only generations > G − k stay, the ring's own overwriting is
 * accounted for, and the state round-trips (also from checkpoints written before the bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FictionalBuffer } from '../src/training/fictional_buffer.js';
import { ReplayBuffer } from '../src/agent/replay.js';
import { Rng } from '../src/util/rng.js';

const dX = 2, dU = 1;
/** Adds n transitions of `generation`, x[0] = running id so the order is visible. */
function fill(b: FictionalBuffer, generation: number, n: number, id: { next: number }): void {
  for (let i = 0; i < n; i++, id.next++) b.add([id.next, generation], [0.1], -1, [id.next + 0.5, generation], false, i % 7, generation);
}
const ids = (b: FictionalBuffer) => Array.from({ length: b.size }, (_, i) => b.ring.get(i).x[0]);

test('age(G) with k = 2 keeps generations G-1 and G, oldest first, and drops the rest', () => {
  const b = new FictionalBuffer(100, dX, dU, 2), id = { next: 0 };
  fill(b, 1, 5, id);
  fill(b, 2, 4, id);
  assert.equal(b.age(2), 0, 'generations 1 and 2 are the last two');
  fill(b, 3, 3, id);
  assert.equal(b.age(3), 5, 'generation 1 is dropped at refit 3');
  assert.deepEqual(b.generations, [{ generation: 2, count: 4 }, { generation: 3, count: 3 }]);
  assert.deepEqual(ids(b), [5, 6, 7, 8, 9, 10, 11]);
  const tr = b.ring.get(0);
  assert.deepEqual([Array.from(tr.x), Array.from(tr.x2), tr.t, tr.r, tr.terminal], [[5, 2], [5.5, 2], 0, -1, false], 'kept transitions are unchanged');
  // A refit with no new rollouts in between: everything older than G - 1 goes.
  assert.equal(b.age(5), 7);
  assert.equal(b.size, 0);
  assert.deepEqual(b.generations, []);
});

test('k = 0 never drops; k = 1 keeps only the rollouts of the newest model', () => {
  const none = new FictionalBuffer(100, dX, dU, 0), one = new FictionalBuffer(100, dX, dU, 1);
  const a = { next: 0 }, c = { next: 0 };
  for (let g = 1; g <= 4; g++) {
    // between refit g and refit g + 1 the model of refit g imagines generation g
    fill(none, g, 3, a);
    fill(one, g, 3, c);
    assert.deepEqual(one.generations, [{ generation: g, count: 3 }]);
    assert.equal(none.age(g + 1), 0);
    assert.equal(one.age(g + 1), 3, 'refit g + 1 drops all of generation g');
    assert.equal(one.size, 0);
  }
  assert.equal(none.size, 12);
});

test('the ring overwriting its oldest transitions keeps the generation counts right', () => {
  const b = new FictionalBuffer(10, dX, dU, 2), id = { next: 0 };
  fill(b, 1, 6, id);
  fill(b, 2, 7, id); // 13 added into 10 slots: 3 of generation 1 are overwritten
  assert.deepEqual(b.generations, [{ generation: 1, count: 3 }, { generation: 2, count: 7 }]);
  fill(b, 3, 12, id); // generation 3 alone fills the ring
  assert.deepEqual(b.generations, [{ generation: 3, count: 10 }]);
  assert.deepEqual(ids(b), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.equal(b.age(4), 0);
  assert.throws(() => b.add([0, 0], [0], 0, [0, 0], false, 0, 2), /generation 2 is older than the newest stored \(3\)/);
});

test('sampling draws only stored (kept) transitions', () => {
  const b = new FictionalBuffer(50, dX, dU, 1), id = { next: 0 };
  fill(b, 1, 20, id);
  b.age(2);
  fill(b, 2, 5, id);
  const batch = b.sample(64, new Rng(3));
  for (let i = 0; i < batch.B; i++) assert.equal(batch.x[i * dX + 1], 2, 'only generation-2 transitions are sampled');
});

test('state round trip; a ring state without blocks (older checkpoint) is one generation; bad blocks are refused', () => {
  const b = new FictionalBuffer(30, dX, dU, 3), id = { next: 0 };
  fill(b, 1, 4, id);
  fill(b, 2, 6, id);
  const copy = new FictionalBuffer(30, dX, dU, 3);
  copy.setState(structuredClone(b.getState()));
  assert.deepEqual(copy.generations, b.generations);
  assert.deepEqual(ids(copy), ids(b));
  // The pre-bound checkpoint format: R_f was a plain ReplayBuffer state.
  const old = new ReplayBuffer(30, dX, dU);
  for (let i = 0; i < 5; i++) old.add([i, 0], [0], 0, [i, 0], false, 0);
  const fromOld = new FictionalBuffer(30, dX, dU, 3);
  fromOld.setState(old.getState(), 7);
  assert.deepEqual(fromOld.generations, [{ generation: 7, count: 5 }]);
  const bad = b.getState();
  bad.blocks = [{ generation: 1, count: 3 }];
  assert.throws(() => new FictionalBuffer(30, dX, dU, 3).setState(bad), /do not add up to the 10 stored transitions/);
  assert.throws(() => new FictionalBuffer(30, dX, dU, -1), /maxAgeRefits must be an integer >= 0, got -1/);
});
