/**
 * NAF updates per second at batch 64 for one network configuration, in a fresh process:
 *
 *   node --import tsx bench/update_rate.ts [--root <repo>] [--architecture separate|shared]
 *                                          [--threads 1|2] [--updates N] [--backend wasm]
 *                                          [--path auto|native|tfjs]
 *
 * `--root` points at another checkout of this repository (for example an older commit in a git
 * worktree): the probe loads that checkout's NafAgent (`src/agent/naf/agent.ts`, or in older
 * checkouts `src/agent/naf.ts`), so old and new code are timed by the same script
 * (`bench/compare_updates.sh` alternates them). Network: the reacher's sizes (dX 11, dU 3),
 * hidden [200, 200] ReLU, Adam; 30 warm-up updates, then N timed ones over 50 fixed random
 * minibatches. `--path`: where the update's dense layers run (`agent.update_path`; auto = the
 * native GEMM when it loads; checkouts without it always run tfjs). Prints one JSON line:
 * wall-clock and CPU-time rates (CPU time of the process) and the path that ran.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';

const o = new Command('update_rate')
  .option('--root <dir>', 'repository checkout to time', resolve(new URL('..', import.meta.url).pathname))
  .option('--architecture <a>', 'separate | shared', 'separate')
  .option('--threads <n>', '1 | 2 (2: the two-thread update, where the checkout has it)', (v) => Number(v), 1)
  .option('--updates <n>', 'timed updates', (v) => Number(v), 400)
  .option('--backend <name>', 'tfjs backend', 'wasm')
  .option('--path <p>', 'auto | native | tfjs', 'auto')
  .parse()
  .opts();

const root = resolve(o.root);
const modern = join(root, 'src/agent/naf/agent.ts');
const { NafAgent } = await import(existsSync(modern) ? modern : join(root, 'src/agent/naf.ts'));
const { initBackend } = await import(join(root, 'src/agent/backend.ts'));
const { Rng } = await import(join(root, 'src/util/rng.ts'));
await initBackend(o.backend);
const gemmModule = join(root, 'src/nn/gemm.ts');
let gemm = null;
if (o.path !== 'tfjs' && existsSync(gemmModule)) {
  const g = (await import(gemmModule)).nativeGemm();
  if ('gemm' in g) gemm = g.gemm;
  else if (o.path === 'native') throw new Error(`--path native: ${g.error}`);
}
const dX = 11, dU = 3, B = 64;
const agent = new NafAgent({ dX, dU, uMax: new Float64Array([0.6, 0.1, 0.03]), hidden: [200, 200], architecture: o.architecture, seed: 1, gemm, ...(o.threads === 2 ? { threads: 2 } : {}) });
if (o.threads === 2) await agent.startWorker();
const rng = new Rng(3);
const f = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
const batches = Array.from({ length: 50 }, () => ({ x: f(B * dX), u: f(B * dU, 0.03), r: f(B, 0.1), x2: f(B * dX), terminal: new Float32Array(B), B }));
for (let i = 0; i < 30; i++) agent.update(batches[i % 50]);
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < o.updates; i++) agent.update(batches[i % 50]);
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
console.log(JSON.stringify({
  root, architecture: o.architecture, threads: o.threads, backend: o.backend, path: agent.updatePath ?? 'tfjs', updates: o.updates,
  updatesPerSecond: +(o.updates / wall).toFixed(1), cpuSecondsPerUpdate: +((c.user + c.system) / 1e6 / o.updates).toExponential(3),
}));
agent.dispose();
process.exit(0);
