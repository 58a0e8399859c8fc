/**
 * Failures of the NAF head worker (`agent/naf/parallel.ts`, `head_keeper.ts`), injected
 * on the worker's side through its test-only fault hook: it throws in its step (at each phase),
 * exits in its step, is killed between updates, or stalls past the timeout — once terminated as
 * in production, once left alive to finish its step late. In every case:
 *  - `update` returns normally (the step is undone and redone on the calling thread);
 *  - the state after it is exactly what a one-thread agent computes from the state before the
 *    failed step (so the undo restored that state bit for bit: parameters, moments, target,
 *    counters, the Adam step count);
 *  - a late worker's writes and acknowledgements land nowhere;
 *  - the worker is restarted (or, after repeated failures, the agent stays on one thread), and
 *    the updates that follow match a one-thread reference to float32 tolerance;
 *  - the user is told once per event (`takeNotices`), not per update.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/agent/backend.js';
import { NafAgent, type NafOptions } from '../src/agent/naf/agent.js';
import { SLOT, type HeadWorkerFault } from '../src/agent/naf/parallel.js';
import type { AgentState } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';
import { GOLDEN_DIMS, goldenBatch } from './fixtures/naf_golden.js';
import { nativeGemm } from '../src/nn/gemm.js';

await initBackend();

const { dX, dU, uMax, lr, tau, gamma, seed } = GOLDEN_DIMS;
const base = (batchNorm: boolean): NafOptions => ({ dX, dU, uMax: Float64Array.from(uMax), lr, tau, gamma, seed, architecture: 'separate', hidden: [16, 16], batchNorm, normalizeActions: false });
/** Long enough that only an injected stall reaches it on a loaded machine; short enough for a test. */
const STALL_TIMEOUT_MS = 3000;

const two = (batchNorm: boolean, o: Partial<NafOptions> = {}) => new NafAgent({ ...base(batchNorm), threads: 2, testWorkerFaults: true, ...o });
const one = (batchNorm: boolean, o: Partial<NafOptions> = {}) => new NafAgent({ ...base(batchNorm), threads: 1, gemm: o.gemm ?? null });
const native = nativeGemm();
const nativeSkip = 'error' in native ? `native GEMM not available: ${native.error}` : false;

/** Every tensor and scalar, bit for bit. */
function assertSameState(a: AgentState, b: AgentState, what: string): void {
  assert.deepEqual(a.scalars, b.scalars, `${what}: scalars`);
  assert.deepEqual(a.tensors.map((t) => t.name), b.tensors.map((t) => t.name), `${what}: tensor names`);
  for (let i = 0; i < a.tensors.length; i++) assert.deepEqual(a.tensors[i].data, b.tensors[i].data, `${what}: ${a.tensors[i].name}`);
}

/** Every tensor within float32 tolerance of the reference, counters equal. */
function assertCloseState(a: AgentState, ref: AgentState, what: string): void {
  for (const k of ['updates', 'divergences', 'adam_t']) assert.equal(a.scalars[k], ref.scalars[k], `${what}: ${k}`);
  for (let i = 0; i < a.tensors.length; i++) {
    const x = a.tensors[i].data;
    const y = ref.tensors[i].data;
    const atol = a.tensors[i].name.startsWith('adam_v/') ? 1e-9 : 1e-6;
    for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j] - y[j]) <= atol + 1e-4 * Math.abs(y[j]), `${what}: ${a.tensors[i].name}[${j}] ${x[j]} vs one thread ${y[j]}`);
  }
}

/**
 * Runs `before` updates on a two-thread agent and a one-thread reference, then `fail` (which must
 * make the next two-thread update fail on the worker's side), then `after` updates; checks the
 * failed update against a one-thread agent started from the state before it, the rest against the
 * reference. Returns the two-thread agent (caller disposes) and the notices of the failed update.
 */
async function scenario(o: {
  name: string;
  batchNorm?: boolean;
  options?: Partial<NafOptions>;
  /** makes the next update fail; `ref` is the one-thread reference (to keep it in step) */
  fail: (agent: NafAgent, ref: NafAgent) => Promise<{ afterUpdate?: () => Promise<void> } | void>;
  before?: number;
  after?: number;
}) {
  const bn = o.batchNorm ?? false;
  const agent = two(bn, o.options);
  await agent.startWorker();
  const ref = one(bn, o.options);
  const rng = new Rng(`worker-failure:${o.name}`);
  for (let k = 0; k < (o.before ?? 4); k++) {
    const batch = goldenBatch(rng);
    ref.update(batch);
    assert.equal(agent.update(batch).skipped, false);
  }
  assert.equal(agent.threadsInUse, 2);
  const hooks = (await o.fail(agent, ref)) ?? {};
  const pre = await agent.getState();
  const batch = goldenBatch(rng);
  const r = agent.update(batch);
  assert.equal(r.skipped, false, `${o.name}: the failed update returns normally`);
  const notices = agent.takeNotices();
  const afterFailure = await agent.getState();
  // The redo on one thread from the restored state = a one-thread agent from the state before.
  const fromPre = one(bn, o.options);
  await fromPre.setState(pre);
  const r1 = fromPre.update(batch);
  assert.equal(r.loss, r1.loss, `${o.name}: the redone update's loss`);
  assertSameState(afterFailure, await fromPre.getState(), `${o.name}: after the failed update`);
  fromPre.dispose();
  await hooks.afterUpdate?.();
  assertSameState(await agent.getState(), afterFailure, `${o.name}: nothing changed after the update returned`);
  ref.update(batch);
  await agent.whenWorkerSettled();
  for (let k = 0; k < (o.after ?? 6); k++) {
    const b = goldenBatch(rng);
    const a = ref.update(b);
    const s = agent.update(b);
    assert.equal(s.skipped, false);
    assert.ok(Math.abs(a.loss - s.loss) <= 1e-5 * Math.abs(a.loss), `${o.name}, update ${k} after: loss ${s.loss} vs one thread ${a.loss}`);
  }
  assertCloseState(await agent.getState(), await ref.getState(), `${o.name}: at the end`);
  ref.dispose();
  return { agent, notices };
}

const injected = (f: HeadWorkerFault) => async (agent: NafAgent) => void agent.injectWorkerFault(f);

for (const phase of [1, 2, 3, 4] as const) {
  test(`head worker throws in its step (phase ${phase}): undone, redone on one thread, worker restarted`, async () => {
    const { agent, notices } = await scenario({ name: `throw ${phase}`, batchNorm: phase === 2, fail: injected({ kind: 'throw', phase }) });
    assert.equal(notices.length, 1);
    assert.equal(notices[0].level, 'warn');
    assert.match(notices[0].text, /failed at update 5 \(error\): injected fault \(test or drill\): throw at phase/);
    assert.match(notices[0].text, /undone on both threads and redone/);
    assert.deepEqual(agent.takeNotices().map((n) => n.level), ['info'], 'one notice: restarted');
    assert.equal(agent.threadsInUse, 2, 'restarted');
    assert.deepEqual(agent.threadStatus(), { configured: 2, inUse: 2, workerFailures: 1, oneThreadForGood: false });
    agent.dispose();
  });
}

test('head worker exits in its step (process.exit): its exit hook reports it at once; undone, restarted', async () => {
  const { agent, notices } = await scenario({ name: 'exit', batchNorm: true, fail: injected({ kind: 'exit', phase: 3 }) });
  assert.equal(notices.length, 1);
  assert.match(notices[0].text, /\(exit\): its thread exited \(code 3\) during an update/);
  assert.equal(agent.threadsInUse, 2);
  agent.dispose();
});

test('head worker killed between updates (terminate): seen at the next update, which runs on one thread; restarted', async () => {
  const { agent, notices } = await scenario({
    name: 'killed',
    fail: async (a) => {
      const code = await a.runningWorker()!.kill();
      assert.equal(typeof code, 'number');
    },
  });
  assert.equal(notices.length, 1);
  assert.match(notices[0].text, /\(exit\)/);
  assert.equal(agent.threadsInUse, 2);
  agent.dispose();
});

test('head worker stalls past the timeout (production: terminated): undone, redone, restarted', async () => {
  const { agent, notices } = await scenario({ name: 'stall', options: { workerTimeoutMs: STALL_TIMEOUT_MS }, fail: injected({ kind: 'stall', phase: 2 }) });
  assert.equal(notices.length, 1);
  assert.match(notices[0].text, /\(timeout\): no answer within 3000 ms/);
  assert.equal(agent.threadsInUse, 2);
  agent.dispose();
});

test('head worker stalls past the timeout, then finishes its step late: its writes and acknowledgements land nowhere', async () => {
  let stalled: ReturnType<NafAgent['injectWorkerFault']> | null = null;
  let acksBefore = 0;
  const { agent, notices } = await scenario({
    name: 'stall late',
    batchNorm: true,
    options: { workerTimeoutMs: STALL_TIMEOUT_MS },
    fail: async (a) => {
      stalled = a.injectWorkerFault({ kind: 'stall', phase: 4, late: true }); // before mu's Adam step
      acksBefore = stalled.acks();
      return {
        afterUpdate: async () => {
          assert.equal(a.threadsInUse, 1, 'no worker until the stalled thread has exited');
          stalled!.release();
          await stalled!.exited;
          // It did finish its step: mu's Adam step written (to its region) and acknowledged.
          assert.equal(stalled!.acks(), acksBefore + 4, 'the late worker completed and acknowledged its step');
          assert.equal(Atomics.load(stalled!.data.buffers.ctrl, SLOT.FINITE), 1);
        },
      };
    },
  });
  assert.equal(notices.length, 1);
  assert.match(notices[0].text, /\(timeout\)/);
  assert.equal(agent.threadsInUse, 2, 'restarted after the stalled thread exited');
  agent.dispose();
});

test('repeated failures: after workerFailureLimit in a row the update stays on one thread; told once', async () => {
  const { agent, notices } = await scenario({
    name: 'repeated',
    options: { workerFailureLimit: 2 },
    fail: async (a, ref) => {
      // the first failure (and its restart) before the scenario's failed update, which is the second
      const b = goldenBatch(new Rng('repeated:first'));
      a.injectWorkerFault({ kind: 'throw', phase: 3 });
      assert.equal(a.update(b).skipped, false);
      ref.update(b);
      await a.whenWorkerSettled();
      assert.deepEqual(a.takeNotices().map((n) => n.level), ['warn', 'info']);
      a.injectWorkerFault({ kind: 'throw', phase: 1 });
    },
    after: 8,
  });
  assert.equal(notices.length, 1);
  assert.equal(notices[0].level, 'error');
  assert.match(notices[0].text, /failed 2 times in a row: the NAF update runs on one thread for the rest of this run/);
  assert.equal(agent.threadsInUse, 1);
  assert.deepEqual(agent.threadStatus(), { configured: 2, inUse: 1, workerFailures: 2, oneThreadForGood: true });
  assert.deepEqual(agent.takeNotices(), [], 'nothing more after 8 one-thread updates');
  agent.dispose();
});

test('the fault hook is test-only: an agent without testWorkerFaults refuses it, and its worker ignores the fault slots', async () => {
  const agent = new NafAgent({ ...base(false), threads: 2 });
  await agent.startWorker();
  assert.throws(() => agent.injectWorkerFault({ kind: 'throw', phase: 1 }), /not built with testWorkerFaults/);
  assert.throws(() => agent.runningWorker(), /not built with testWorkerFaults/);
  const w = (agent as unknown as { keeper: { live: { data: { buffers: { ctrl: Int32Array } } } } }).keeper.live;
  const ctrl = w.data.buffers.ctrl;
  Atomics.store(ctrl, SLOT.FAULT_PHASE, 1);
  Atomics.store(ctrl, SLOT.FAULT_KIND, 1); // throw, were the worker listening
  const ref = one(false);
  const rng = new Rng('no-hook');
  for (let k = 0; k < 3; k++) {
    const b = goldenBatch(rng);
    ref.update(b);
    assert.equal(agent.update(b).skipped, false);
  }
  assert.equal(agent.threadStatus().workerFailures, 0);
  assert.deepEqual(agent.takeNotices(), []);
  assertCloseState(await agent.getState(), await ref.getState(), 'no hook');
  agent.dispose();
  ref.dispose();
});

// The native path's split (`parallel.ts`, "On the native path"): two phases, the same guarantees.
const gemm = 'gemm' in native ? native.gemm : null;
for (const phase of [1, 2] as const) {
  test(`native path: head worker throws in its step (phase ${phase}): undone, redone on one thread, worker restarted`, { skip: nativeSkip }, async () => {
    const { agent, notices } = await scenario({ name: `native throw ${phase}`, options: { gemm }, fail: injected({ kind: 'throw', phase }) });
    assert.equal(agent.updatePath, 'native');
    assert.equal(notices.length, 1);
    assert.match(notices[0].text, /failed at update 5 \(error\): injected fault \(test or drill\): throw at phase/);
    assert.deepEqual(agent.takeNotices().map((n) => n.level), ['info'], 'one notice: restarted');
    assert.equal(agent.threadsInUse, 2);
    agent.dispose();
  });
}

test('native path: head worker exits in its step, and stalls past the timeout then finishes late: undone, redone, restarted; late writes land nowhere', { skip: nativeSkip }, async () => {
  const exit = await scenario({ name: 'native exit', options: { gemm }, fail: injected({ kind: 'exit', phase: 2 }) });
  assert.match(exit.notices[0].text, /\(exit\)/);
  exit.agent.dispose();
  let stalled: ReturnType<NafAgent['injectWorkerFault']> | null = null;
  let acksBefore = 0;
  const late = await scenario({
    name: 'native stall late',
    options: { gemm, workerTimeoutMs: STALL_TIMEOUT_MS },
    fail: async (a) => {
      stalled = a.injectWorkerFault({ kind: 'stall', phase: 2, late: true }); // after its backward pass, before its acknowledgement
      acksBefore = stalled.acks();
      return {
        afterUpdate: async () => {
          stalled!.release();
          await stalled!.exited;
          assert.equal(stalled!.acks(), acksBefore + 2, 'the late worker completed and acknowledged its step');
        },
      };
    },
  });
  assert.match(late.notices[0].text, /\(timeout\)/);
  assert.equal(late.agent.threadsInUse, 2, 'restarted after the stalled thread exited');
  late.agent.dispose();
});
