/**
 * The two-thread NAF update (`agent/naf/parallel.ts`) when the calling thread fails in the middle of
 * an update, before or after it hands the backward pass to the worker: the worker is brought to the
 * end of that update before the error propagates, the learner's state is as before the update, and
 * the following updates give the one-thread agent's numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/agent/backend.js';
import type { NafAgent } from '../src/agent/naf/agent.js';
import { Rng } from '../src/util/rng.js';
import { GOLDEN_CASES, goldenAgent, goldenBatch } from './fixtures/naf_golden.js';

await initBackend();

/** Makes the agent's next call of `method` throw (once). */
function failOnce(agent: NafAgent, method: 'loss' | 'optimize'): void {
  const a = agent as unknown as Record<string, unknown>;
  a[method] = () => {
    delete a[method]; // back to the prototype's method
    throw new Error(`injected failure in ${method}`);
  };
}

const stateSum = async (agent: NafAgent) => (await agent.getState()).tensors.map((t) => `${t.name}:${t.data.reduce((s, v) => s + Math.abs(v), 0).toPrecision(6)}`);

for (const c of GOLDEN_CASES.filter((g) => g.options.architecture === 'separate' && g.full)) {
  test(`two-thread NAF (${c.name}): a failure on the calling thread before or after the hand-off leaves no trace`, async () => {
    const one = goldenAgent(c.options, 1);
    const two = goldenAgent(c.options, 2);
    await two.startWorker();
    const rng = new Rng(`parallel:${c.name}`);
    for (let k = 0; k < 12; k++) {
      const batch = goldenBatch(rng);
      if (k === 3 || k === 7) {
        const before = await stateSum(two);
        failOnce(two, k === 3 ? 'loss' : 'optimize'); // before BACKWARD is sent / after
        assert.throws(() => two.update(batch), /injected failure/);
        assert.deepEqual(await stateSum(two), before, 'the failed update left the state as it was');
      }
      const a = one.update(batch);
      const b = two.update(batch);
      assert.equal(b.skipped, false);
      assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `update ${k}: loss ${b.loss} vs one thread ${a.loss}`);
    }
    assert.equal(two.threadsInUse, 2);
    assert.deepEqual(await stateSum(two), await stateSum(one));
    one.dispose();
    two.dispose();
  });
}
