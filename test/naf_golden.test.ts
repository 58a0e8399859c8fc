/**
 * The NAF update gives the same results as the implementation it replaced (tfjs autodiff, per-tensor
 * Adam; commit 8404ae7): the golden values in `fixtures/naf_golden.json` were recorded from it
 * (`fixtures/naf_golden.ts`). Same losses, mean Q and, for the small networks, every weight, Adam
 * moment, target weight and batch-norm statistic after a fixed-seed sequence of updates, to float32
 * rounding accumulated over the sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initBackend } from '../src/agent/backend.js';
import { Rng } from '../src/util/rng.js';
import { GOLDEN_CASES, goldenAgent, goldenBatch } from './fixtures/naf_golden.js';
import { nativeGemm } from '../src/nn/gemm.js';

await initBackend();

interface GoldenTensor { name: string; shape: number[]; sum: number; sumAbs: number; data?: string }
interface GoldenCase { losses: number[]; qMeans: number[]; scalars: Record<string, number>; tensors: GoldenTensor[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/naf_golden.json', import.meta.url), 'utf8')) as { cases: Record<string, GoldenCase> };

const decode = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const close = (a: number, b: number, rtol: number, atol: number) => Math.abs(a - b) <= atol + rtol * Math.abs(b);

const native = nativeGemm();
const nativeSkip = 'error' in native ? `native GEMM not available: ${native.error}` : false;

const cases = [
  ...GOLDEN_CASES.map((c) => ({ ...c, threads: 1 as const, path: 'tfjs' as const })),
  // The two-thread update (agent/naf/parallel.ts) must give the same numbers.
  ...GOLDEN_CASES.filter((c) => c.options.architecture === 'separate').map((c) => ({ ...c, threads: 2 as const, path: 'tfjs' as const })),
  // And so must the update on the native GEMM (agent/naf/dense_step.ts; no batch norm there), on one and two threads.
  ...GOLDEN_CASES.filter((c) => !c.options.batchNorm).map((c) => ({ ...c, threads: 1 as const, path: 'native' as const })),
  ...GOLDEN_CASES.filter((c) => !c.options.batchNorm && c.options.architecture === 'separate').map((c) => ({ ...c, threads: 2 as const, path: 'native' as const })),
];

for (const c of cases) {
  test(`NAF update = the replaced implementation (golden values): ${c.name}, ${c.updates} updates, ${c.threads} thread(s), ${c.path}`, { skip: c.path === 'native' && nativeSkip }, async () => {
    const want = golden.cases[c.name];
    const agent = goldenAgent(c.options, c.threads, c.path === 'native' && 'gemm' in native ? native.gemm : null);
    assert.equal(agent.updatePath, c.path);
    if (c.threads === 2) {
      await agent.startWorker();
      assert.equal(agent.threadsInUse, 2);
    }
    const rng = new Rng(`golden:${c.name}`);
    for (let k = 0; k < c.updates; k++) {
      const s = agent.update(goldenBatch(rng));
      assert.equal(s.skipped, false);
      assert.ok(close(s.loss, want.losses[k], 1e-5, 1e-9), `update ${k}: loss ${s.loss}, golden ${want.losses[k]}`);
      assert.ok(close(s.qMean, want.qMeans[k], 1e-5, 1e-7), `update ${k}: mean Q ${s.qMean}, golden ${want.qMeans[k]}`);
    }
    const state = await agent.getState();
    for (const [k, v] of Object.entries(want.scalars)) assert.equal(state.scalars[k], v, `scalar ${k}`);
    assert.equal(state.scalars.action_normalized, 0, 'the replaced implementation worked on torques');
    assert.deepEqual(state.tensors.map((t) => t.name).sort(), want.tensors.map((t) => t.name).sort());
    for (const g of want.tensors) {
      const t = state.tensors.find((u) => u.name === g.name)!;
      assert.deepEqual(t.shape, g.shape, g.name);
      const sumAbs = t.data.reduce((a, v) => a + Math.abs(v), 0);
      assert.ok(close(sumAbs, g.sumAbs, 1e-4, 1e-9), `${g.name}: sum |.| ${sumAbs}, golden ${g.sumAbs}`);
      if (!g.data) continue;
      const ref = decode(g.data);
      // Adam's second moments are squares of gradients (small); weights O(0.1-1).
      const atol = g.name.startsWith('adam_v/') ? 1e-9 : 1e-6;
      for (let i = 0; i < ref.length; i++) assert.ok(close(t.data[i], ref[i], 1e-5, atol), `${g.name}[${i}]: ${t.data[i]}, golden ${ref[i]}`);
    }
    agent.dispose();
  });
}
