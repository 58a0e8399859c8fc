/**
 * `npm run bench [-- --quick]`: the evidence of the project (DESIGN.md Sec. 7).
 *
 * Writes `bench/results/<date>[-quick]/`:
 *   results.json       every figure and every learning curve, with backend, cores and method
 *   table.md           Table-1-style table (best test return, episodes to within 5% of best)
 *   curves-<task>.svg  test return against episodes, mean and min-max over seeds
 *   soak.svg/json      tensor count, heap and RSS over a long run (with --soak)
 *
 * Learning runs are child processes (`learning_job.ts`), two at a time on this 2-core machine.
 */
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import * as tf from '@tensorflow/tfjs';
import { METHODS, TASKS, merge } from './methods.js';
import { learningCurveSvg, soakSvg, table, type Curve } from './report.js';
import { computeFigures, jitterFigures, soak } from './compute.js';
import { initBackend } from '../src/agent/backend.js';
import { paramsFileDir, resolveFileRelative } from '../src/config/params_file.js';

const program = new Command('bench')
  .option('--quick', 'smoke run of a few minutes: fewer seeds, episodes and methods')
  .option('--out <dir>', 'results folder')
  .option('--config <file>', 'base params file', 'config/reacher.yaml')
  .option('--methods <list>', `comma list of ${Object.keys(METHODS).join(',')}`)
  .option('--tasks <list>', `comma list of ${Object.keys(TASKS).join(',')}`)
  .option('--seeds <n>', 'seeds per method', (v) => Number(v))
  .option('--episodes <n>', 'training episodes per run', (v) => Number(v))
  .option('--jobs <n>', 'parallel learning runs', (v) => Number(v), Math.max(1, cpus().length))
  .option('--soak <steps>', 'also run the soak test for this many environment steps', (v) => Number(v))
  .option('--skip-learning', 'no learning curves')
  .option('--skip-compute', 'no compute figures')
  .option('--jitter', 'only the control-loop jitter figures (in-process, and over DDS where rclnodejs loads), printed and saved as jitter.json')
  .option('--report <dir>', 'only rewrite table.md and the plots of an existing results folder')
  .parse();
const o = program.opts();

const quick = Boolean(o.quick);
const date = new Date().toISOString().slice(0, 10);
const out = o.out ?? join('bench', 'results', `${date}${quick ? '-quick' : ''}`);
// Relative paths in the params file are relative to its folder, as for `naf-ros train --config`.
const base = resolveFileRelative((yaml.load(readFileSync(o.config, 'utf8')) as { naf_trainer: { ros__parameters: Record<string, unknown> } }).naf_trainer.ros__parameters, paramsFileDir(o.config)) as Record<string, unknown>;
const methods: string[] = o.methods ? o.methods.split(',') : quick ? ['ddpg', 'naf', 'naf_tvlg'] : Object.keys(METHODS);
const tasks: string[] = o.tasks ? o.tasks.split(',') : quick ? ['single'] : Object.keys(TASKS);
const seeds: number = o.seeds ?? (quick ? 2 : 3);
const episodes: number = o.episodes ?? (quick ? 30 : 150);
const evalEvery = quick ? 5 : 10;
const labels: Record<string, string> = Object.fromEntries(Object.entries(METHODS).map(([k, v]) => [k, v.label]));
const log = (s: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
if (o.report) {
  const r = JSON.parse(readFileSync(join(o.report, 'results.json'), 'utf8')) as { info: { date: string; cores: number; backend: string; quick: boolean; episodes: number; seeds: number }; curves: Curve[] };
  await writeReport(o.report, r.info, r.curves);
  process.exit(0);
}
mkdirSync(out, { recursive: true });

function runJob(params: unknown, runDir: string): Promise<{ episode: number; meanReturn: number }[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/learning_job.ts', JSON.stringify({ params, runDir })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.on('exit', (code) => code === 0 ? resolve(text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))) : reject(new Error(`job ${runDir} exited ${code}`)));
  });
}

/** table.md and one curves-<task>.svg per task; returns the markdown. */
async function writeReport(dir: string, i: { date: string; cores: number; backend: string; quick: boolean; episodes: number; seeds: number }, curves: Curve[]): Promise<string> {
  const every = curves[0] ? curves[0].points[1].episode - curves[0].points[0].episode : 0;
  const md = [`# naf_ros benchmark (${i.date}, ${i.cores} cores, backend ${i.backend}${i.quick ? ', quick' : ''})`, '',
    `${i.episodes} training episodes per run, ${i.seeds} seeds; test return = greedy policy on the same fixed evaluation starts every ${every} episodes.`, '',
    table(curves, labels), ''].join('\n');
  writeFileSync(join(dir, 'table.md'), md);
  for (const task of [...new Set(curves.map((c) => c.task))]) {
    writeFileSync(join(dir, `curves-${task}.svg`), await learningCurveSvg(curves.filter((c) => c.task === task), TASKS[task].label, labels));
  }
  return md;
}

if (o.jitter) {
  await initBackend();
  const figs = await jitterFigures(base, { quick });
  for (const f of figs) log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} — ${f.method}`);
  writeFileSync(join(out, 'jitter.json'), JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, loadavg: loadavg(), figures: figs }, null, 1));
  process.exit(0);
}
const backend = await initBackend();
const info = { date: new Date().toISOString(), quick, backend: backend.name, cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs, config: o.config, episodes, seeds, methods, tasks };
log(`backend ${backend.name}, ${info.cores} cores; results in ${out}`);

const results: { info: typeof info; compute: unknown[]; curves: Curve[]; soak?: unknown } = { info, compute: [], curves: [] };
const save = () => writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 1));

if (!o.skipCompute) {
  log('compute figures ...');
  results.compute = await computeFigures(base, { quick });
  for (const f of results.compute as { name: string; value: number; unit: string }[]) log(`  ${f.name}: ${f.value.toFixed(1)} ${f.unit}`);
  save();
}

if (!o.skipLearning) {
  const jobs: { method: string; task: string; seed: number }[] = [];
  for (const task of tasks) for (const method of methods) for (let seed = 1; seed <= seeds; seed++) jobs.push({ method, task, seed });
  log(`${jobs.length} learning runs of ${episodes} episodes, ${o.jobs} at a time ...`);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const params = merge(merge(merge(base, TASKS[j.task].overrides), METHODS[j.method].overrides), {
        seed: j.seed, training: { episodes, eval_every_episodes: evalEvery, checkpoint_every_episodes: episodes },
      });
      const t0 = Date.now();
      const points = await runJob(params, join(out, 'runs', `${j.task}-${j.method}-seed${j.seed}`));
      results.curves.push({ ...j, points });
      save();
      log(`  ${j.task} ${j.method} seed ${j.seed}: best ${Math.max(...points.map((p) => p.meanReturn)).toFixed(2)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: o.jobs }, worker));
  console.log(await writeReport(out, info, results.curves));
}

if (o.soak) {
  log(`soak: ${o.soak} environment steps ...`);
  // Algorithm 2 as shipped (imagination, refits, iLQG all exercised), replay capacity a fifth of
  // the run so that R wraps around early and most of the run is at full capacity.
  const capacity = Math.max(1000, Math.floor(o.soak / 5));
  // l = 2 keeps the run affordable on 2 cores (3 updates per step) while every code path of
  // Algorithm 2 keeps running for the whole soak.
  const samples = await soak(merge(base, { agent: { replay_capacity: capacity }, model_based: { fictional_capacity: capacity, imagination_length: 2, imagination_off_after_episodes: 1e9 } }), o.soak, Math.max(50, Math.floor(o.soak / 100)));
  results.soak = samples;
  save();
  writeFileSync(join(out, 'soak.svg'), await soakSvg(samples));
  const after = samples.slice(Math.floor(samples.length / 2));
  log(`  tensors ${Math.min(...after.map((s) => s.tensors))}..${Math.max(...after.map((s) => s.tensors))}, RSS ${Math.min(...after.map((s) => s.rssMB)).toFixed(0)}..${Math.max(...after.map((s) => s.rssMB)).toFixed(0)} MB in the second half`);
}
log('done');
