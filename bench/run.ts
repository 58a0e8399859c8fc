/**
 * `npm run bench [-- --quick]`: the evidence of the project (DESIGN.md Sec. 7).
 *
 * Writes `bench/results/<date>[-quick|-grid]/`:
 *   results.json       every figure, every learning curve with its held-out test and totals, the
 *                      labels and overrides of every method, backend, cores (`--report` rebuilds
 *                      everything below from it)
 *   table.md           speed (episodes to within 5% of best, episodes to reach R*), policy quality
 *                      (best test return, held-out final and best returns and success rates), the
 *                      speed-up of imagination against both NAF controls; definitions under each
 *   curves-<task>.svg  test return and evaluation success rate against episodes, mean and min–max over seeds
 *   grid.md, best.json with --grid: every setting of the tuning grid per method, and the selected ones
 *                      (`--tuned <best.json>` applies them to a comparison)
 *   soak.svg/json      tensor count, heap and RSS over a long run (with --soak)
 *   peers.json/md      with --peers only: the NAF update beside JAX and PyTorch (`peers.ts`)
 *
 * Every table and plot of a folder is rebuilt from its results.json by `folder_report.ts` (`--report`).
 *
 * Learning runs are child processes (`learning_job.ts`), two at a time on this 2-core machine.
 */
import { Command, InvalidArgumentError } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_METHODS, FACTORIAL_METHODS, METHODS, QUICK_METHODS, TASKS, merge, parseSet, updatesPerRealStep } from './methods.js';
import { soakSvg, type BenchRun } from './report.js';
import { parseAxes, settingName, settingOverrides, settings, type AxisSpec, type GridRun, type Setting } from './grid.js';
import { paramsOf, writeReport, type Info, type Results } from './folder_report.js';
import { computeFigures, jitterFigures, realtimeSweep, soak } from './compute.js';
import { initBackend } from '../src/agent/backend.js';
import { provenance } from './provenance.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1, got "${v}"`);
  return n;
};
const program = new Command('bench')
  .option('--quick', 'smoke run of a few minutes: fewer seeds, episodes and methods')
  .option('--out <dir>', 'results folder')
  .option('--config <file>', 'base params file', 'config/reacher.yaml')
  .option('--methods <list>', `comma list of ${Object.keys(METHODS).join(',')} (default ${DEFAULT_METHODS.join(',')}; --quick ${QUICK_METHODS.join(',')}), or factorial (${FACTORIAL_METHODS.join(',')})`)
  .option('--tasks <list>', `comma list of ${Object.keys(TASKS).join(',')}`)
  .option('--seeds <n>', 'seeds per method (and per grid setting)', int('--seeds'))
  .option('--first-seed <n>', 'seeds run are first-seed .. first-seed + seeds - 1 (default 1): a grid on seeds the comparison does not use keeps its selection out of the comparison', int('--first-seed'), 1)
  .option('--episodes <n>', 'training episodes per run', int('--episodes'))
  .option('--eval-every <n>', 'evaluate the greedy policy every n episodes (default 10; --quick 5)', int('--eval-every'))
  .option('--jobs <n>', 'parallel learning runs', int('--jobs'), Math.max(1, cpus().length))
  .option('--set <param=value>', 'override a parameter of every run, dotted as in the params file (repeatable), e.g. --set model_based.fictional_max_age_refits=1', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--tuned <best.json>', 'per-method settings chosen by a grid run (its best.json), applied to every run of those methods')
  .option('--grid [axes]', 'run the tuning grid instead of the comparison (axes lr,sigma,bn,tau, each optionally with values, e.g. lr=1e-4:3e-4:1e-3,tau; bare --grid: lr,sigma,bn): every setting x method x seed on one task; writes grid.md and best.json')
  .option('--rstar-methods <list>', 'methods whose mean curves define the common return R* (default: every method of the table)')
  .option('--soak <steps>', 'also run the soak test for this many environment steps', int('--soak'))
  .option('--skip-learning', 'no learning curves')
  .option('--skip-compute', 'no compute figures')
  .option('--jitter', 'only the control-loop jitter figures (in-process, and over DDS where rclnodejs loads), printed and saved as jitter.json')
  .option('--realtime [ls]', 'only the learner in real time: shed fraction, updates/s and jitter of the in-process node (with the node\'s real-time setup at ros.rt_priority where permitted) for imagination lengths l (default 1,2,5,10), saved as realtime.json')
  .option('--realtime-seconds <s>', 'seconds per l of --realtime (default 60; --quick 20): imagination starts after the first refit (refit_every_episodes), so at low control rates give it time', int('--realtime-seconds'))
  .option('--fleet', 'only the fleet figures: 1, 2, 4 simulated arms and one learner in real time, wall-clock and real episodes to a common return; fleet.json, table.md, curves.svg')
  .option('--fleet-arms <list>', 'arm counts of --fleet', '1,2,4')
  .option('--fleet-report <dir>', 'only rewrite table.md and curves.svg of a --fleet results folder from its fleet.json')
  .option('--fleet-episodes <n>', 'real episodes of all arms together per --fleet run', int('--fleet-episodes'), 60)
  .option('--peers [python]', 'only the NAF update side by side with JAX (jit) and PyTorch (eager), alternating in fresh processes (bench/peers.ts); the Python with jax, optax and torch defaults to python3; peers.json and peers.md')
  .option('--peer-rounds <n>', 'alternating rounds of --peers', int('--peer-rounds'), 5)
  .option('--continue', 'continue an interrupted comparison in --out: keep the runs its results.json holds, run the missing ones (same config, episodes, --set and --tuned required)')
  .option('--report <dir>', 'only rewrite table.md, grid.md, best.json and the plots of an existing results folder from its results.json')
  .parse();
const o = program.opts();
const fail = (msg: string): never => {
  console.error(`bench: ${msg}`);
  process.exit(2);
};

type Params = Record<string, unknown>;
if (o.report) {
  const file = join(o.report, 'results.json');
  if (!existsSync(file)) fail(`--report: no results.json in ${o.report}`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
  r.curves ??= [];
  console.log(await writeReport(o.report, r, o.rstarMethods?.split(',')));
  process.exit(0);
}

const quick = Boolean(o.quick);
const gridMode = o.grid !== undefined;
const date = new Date().toISOString().slice(0, 10);
const out = o.out ?? join('bench', 'results', `${date}${quick ? '-quick' : ''}${gridMode ? '-grid' : ''}`);
// Relative paths in the params file are relative to its folder, as for `naf-ros train --config`.
if (!existsSync(o.config)) fail(`--config: no such file ${o.config}`);
const fileParams = paramsOf(o.config);
let sets: Params = {};
try {
  for (const s of o.set as string[]) sets = merge(sets, parseSet(s, yaml.load));
} catch (e) { fail((e as Error).message); }
const base = merge(fileParams, sets);
const methods: string[] = o.methods ? (o.methods === 'factorial' ? FACTORIAL_METHODS : o.methods.split(',')) : quick ? QUICK_METHODS : DEFAULT_METHODS;
const tasks: string[] = o.tasks ? o.tasks.split(',') : quick || gridMode ? ['single'] : Object.keys(TASKS);
for (const m of methods) if (!METHODS[m]) fail(`--methods: unknown method "${m}"; allowed: ${Object.keys(METHODS).join(', ')}`);
for (const t of tasks) if (!TASKS[t]) fail(`--tasks: unknown task "${t}"; allowed: ${Object.keys(TASKS).join(', ')}`);
if (gridMode && tasks.length !== 1) fail(`--grid tunes on one task; --tasks gives ${tasks.length} (${tasks.join(', ')})`);
const rStarMethods: string[] | null = o.rstarMethods ? o.rstarMethods.split(',') : null;
for (const m of rStarMethods ?? []) if (!methods.includes(m)) fail(`--rstar-methods: "${m}" is not one of the methods run (${methods.join(', ')})`);
let axes: AxisSpec[] = [];
try { axes = gridMode ? parseAxes(o.grid) : []; } catch (e) { fail((e as Error).message); }
let tuned: Record<string, { overrides: Params; name: string }> = {};
if (o.tuned) {
  if (!existsSync(o.tuned)) fail(`--tuned: no such file ${o.tuned}`);
  tuned = (JSON.parse(readFileSync(o.tuned, 'utf8')) as { methods: typeof tuned }).methods;
}
const seeds: number = o.seeds ?? (quick ? 2 : gridMode ? 2 : 3);
const firstSeed: number = o.firstSeed;
const seedList = Array.from({ length: seeds }, (_, i) => firstSeed + i);
const episodes: number = o.episodes ?? (quick ? 30 : 150);
const evalEvery: number = o.evalEvery ?? (quick ? 5 : 10);
const log = (s: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

/**
 * The params of one run: base (+ --set), task, method, a setting's overrides (a grid setting's,
 * `gridOverrides`, or the method's tuned setting), seed and budget.
 */
function runParams(method: string, task: string, seed: number, overrides: Params = {}): Params {
  const b = merge(base, TASKS[task].overrides);
  const p = merge(merge(b, METHODS[method].overrides(b)), overrides);
  return merge(p, { seed, training: { episodes, eval_every_episodes: evalEvery, checkpoint_every_episodes: episodes } });
}
/** The config overrides of a grid setting for a method, at the method's own updates per real step. */
function gridOverrides(method: string, task: string, setting: Setting): Params {
  const b = merge(base, TASKS[task].overrides);
  return settingOverrides(setting, METHODS[method].kind, updatesPerRealStep(merge(b, METHODS[method].overrides(b))));
}
const labelBase = merge(base, TASKS[tasks[0]].overrides);
const labels = Object.fromEntries(methods.map((m) => [m, `${METHODS[m].label(labelBase)}${!gridMode && tuned[m] ? `, tuned ${tuned[m].name}` : ''}`]));
for (const m of methods) if (o.tuned && !tuned[m]) log(`note: ${o.tuned} has no setting for ${m}; it runs as configured`);

if (o.fleetReport) {
  const { fleetTable } = await import('./fleet.js');
  const { fleetCurvesSvg } = await import('../src/report/plot.js');
  const file = join(o.fleetReport, 'fleet.json');
  if (!existsSync(file)) fail(`--fleet-report: no fleet.json in ${o.fleetReport}`);
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const table = fleetTable(r.runs, r.rStar, { episodes: r.info.episodes, evalEvery: r.info.evalEvery });
  writeFileSync(join(o.fleetReport, 'table.md'), `${table}\n`);
  writeFileSync(join(o.fleetReport, 'curves.svg'), await fleetCurvesSvg(r.runs, r.rStar));
  console.log(table);
  process.exit(0);
}

if (o.peers) {
  const { runPeers, peersTable } = await import('./peers.js');
  const dir = o.out ?? join('bench', 'results', `${date}-peers`);
  const p = runPeers({ python: o.peers === true ? 'python3' : String(o.peers), peersDir: join('bench', 'peers'), rounds: o.peerRounds, updates: 3000, log });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'peers.json'), JSON.stringify(p, null, 2) + '\n');
  writeFileSync(join(dir, 'peers.md'), peersTable(p) + '\n');
  log(`\n${peersTable(p)}\nresults in ${dir}`);
  process.exit(0);
}

if (o.fleet) {
  const { fleetBench, FLEET_INFO } = await import('./fleet.js');
  const dir = o.out ?? join('bench', 'results', `${date}-fleet`);
  mkdirSync(dir, { recursive: true });
  const arms = String(o.fleetArms).split(',').map(Number);
  if (!arms.every((n) => Number.isInteger(n) && n >= 1)) fail(`--fleet-arms: a comma list of integers >= 1; got ${o.fleetArms}`);
  await initBackend();
  const evalEvery = o.evalEvery ?? 5;
  const r = await fleetBench(base, { arms, episodes: o.fleetEpisodes, evalEvery, log });
  writeFileSync(join(dir, 'fleet.json'), JSON.stringify({ info: { ...FLEET_INFO(), config: o.config, set: o.set, episodes: o.fleetEpisodes, evalEvery, arms }, rStar: r.rStar, runs: r.runs }, null, 1));
  writeFileSync(join(dir, 'table.md'), `${r.table}\n`);
  writeFileSync(join(dir, 'curves.svg'), r.svg);
  log(`\n${r.table}\nresults in ${dir}`);
  process.exit(0);
}

mkdirSync(out, { recursive: true });

if (o.realtime) {
  await initBackend();
  const ls = typeof o.realtime === 'string' ? o.realtime.split(',').map(Number) : [1, 2, 5, 10];
  const secs = o.realtimeSeconds ?? (quick ? 20 : 60);
  const rows = await realtimeSweep(base, ls, secs);
  for (const r of rows) log(`l = ${r.l}: shed fraction ${r.shedFraction.toFixed(3)}, ${r.updatesPerS.toFixed(0)} updates/s made, jitter p99 ${r.p99Ms.toFixed(2)} ms, ${r.episodes} episodes; ${r.scheduling}`);
  writeFileSync(join(out, 'realtime.json'), JSON.stringify({ date: new Date().toISOString(), ...provenance(base), cores: cpus().length, loadavg: loadavg(), seconds: secs, config: o.config, set: o.set, rows }, null, 1));
  process.exit(0);
}
if (o.jitter) {
  await initBackend();
  const figs = await jitterFigures(base, { quick });
  for (const f of figs) log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} — ${f.method}`);
  writeFileSync(join(out, 'jitter.json'), JSON.stringify({ date: new Date().toISOString(), ...provenance(base), cores: cpus().length, loadavg: loadavg(), config: o.config, set: o.set, figures: figs }, null, 1));
  process.exit(0);
}

function runJob(params: unknown, runDir: string): Promise<{ points: BenchRun['points']; test?: BenchRun['test']; totals?: BenchRun['totals'] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/learning_job.ts', JSON.stringify({ params, runDir })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`job ${runDir} exited ${code}`));
      const lines = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const done = lines.find((l) => l.done)?.done;
      resolve({ points: lines.filter((l) => l.eval).map((l) => l.eval), test: done?.test ?? undefined, totals: done?.totals });
    });
  });
}

async function runAll<J>(jobs: J[], run: (j: J) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < jobs.length) await run(jobs[next++]); };
  await Promise.all(Array.from({ length: o.jobs }, worker));
}

const backend = await initBackend();
const info: Info = {
  date: new Date().toISOString(), quick, backend: backend.name, cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs,
  ...provenance(base),
  config: o.config, episodes, seeds, firstSeed, evalEvery, methods, tasks, labels, kinds: Object.fromEntries(methods.map((m) => [m, METHODS[m].kind])),
  set: o.set, tuned: o.tuned ?? null, rStarMethods, ...(gridMode ? { grid: { axes } } : {}),
};
log(`backend ${backend.name}, ${info.cores} cores; results in ${out}`);

const results: Results = o.continue ? continued() : { info, compute: [], curves: [] };
const save = () => writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 1));

/**
 * `--continue`: the results of an interrupted comparison in `out`, its info widened by this
 * invocation's methods and seeds. Refused (exit 2) where the runs would not be comparable.
 */
function continued(): Results {
  const file = join(out, 'results.json');
  if (!o.out || !existsSync(file)) fail(`--continue: needs --out with a results.json; none in ${out}`);
  if (gridMode) fail('--continue: only for a comparison, not --grid');
  const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const was = r.info;
  const same: [string, unknown, unknown][] = [['--config', was.config, info.config], ['--episodes', was.episodes, info.episodes],
    ['--eval-every', was.evalEvery, info.evalEvery], ['--first-seed', was.firstSeed ?? 1, info.firstSeed], ['--set', JSON.stringify(was.set), JSON.stringify(info.set)], ['--tuned', was.tuned, info.tuned], ['backend', was.backend, info.backend]];
  for (const [name, a, b] of same) if (a !== b) fail(`--continue: ${name} was ${a} in ${file}, is ${b} now; the runs would not be comparable`);
  r.info = { ...was, methods: [...new Set([...was.methods, ...methods])], tasks: [...new Set([...was.tasks, ...tasks])], seeds: Math.max(was.seeds, seeds),
    labels: { ...was.labels, ...labels }, kinds: { ...was.kinds, ...info.kinds }, continued: [...(was.continued ?? []), `${info.date} (commit ${info.commit?.slice(0, 7)}${info.dirty ? ', uncommitted changes' : ''})`] };
  r.curves ??= [];
  return r;
}

if (gridMode) {
  const grid: GridRun[] = [];
  results.grid = grid;
  const task = tasks[0];
  const jobs = methods.flatMap((method) => settings(axes).flatMap((setting) => seedList.map((seed) => ({ method, setting, seed }))));
  log(`grid: ${jobs.length} runs (${methods.length} methods x ${settings(axes).length} settings x ${seeds} seeds) of ${episodes} episodes, ${o.jobs} at a time ...`);
  await runAll(jobs, async (j) => {
    const t0 = Date.now();
    const overrides = gridOverrides(j.method, task, j.setting);
    const r = await runJob(runParams(j.method, task, j.seed, overrides), join(out, 'grid', `${task}-${j.method}-${settingName(j.setting)}-seed${j.seed}`));
    grid.push({ method: j.method, task, seed: j.seed, setting: j.setting, overrides, ...r });
    save();
    log(`  ${j.method} ${settingName(j.setting)} seed ${j.seed}: best ${Math.max(...r.points.map((p) => p.meanReturn)).toFixed(2)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
  console.log(await writeReport(out, results));
  log('done');
  process.exit(0);
}

if (!o.skipCompute) {
  log('compute figures ...');
  results.compute = await computeFigures(base, { quick });
  for (const f of results.compute as { name: string; value: number; unit: string }[]) log(`  ${f.name}: ${f.value.toFixed(1)} ${f.unit}`);
  save();
}

if (!o.skipLearning) {
  const jobs: { method: string; task: string; seed: number }[] = [];
  const done = new Set(results.curves.map((c) => `${c.task}-${c.method}-seed${c.seed}`));
  for (const task of tasks) for (const method of methods) for (const seed of seedList) if (!done.has(`${task}-${method}-seed${seed}`)) jobs.push({ method, task, seed });
  log(`${jobs.length} learning runs of ${episodes} episodes, ${o.jobs} at a time${done.size ? ` (${done.size} kept from before)` : ''} ...`);
  await runAll(jobs, async (j) => {
    const t0 = Date.now();
    const runDir = join(out, 'runs', `${j.task}-${j.method}-seed${j.seed}`);
    rmSync(runDir, { recursive: true, force: true }); // what an interrupted run left
    const r = await runJob(runParams(j.method, j.task, j.seed, tuned[j.method]?.overrides), runDir);
    results.curves.push({ ...j, ...r });
    save();
    const rt = r.test?.randomTargets;
    const t = r.test ? `; held-out final ${r.test.final.successes}/${r.test.episodes}, best ${r.test.best?.successes ?? '–'}/${r.test.episodes} within 2 cm${rt ? `; random targets final ${rt.final.successes}/${rt.episodes}, median ${(100 * rt.final.medianDistance).toFixed(1)} cm` : ''}` : '';
    log(`  ${j.task} ${j.method} seed ${j.seed}: best ${Math.max(...r.points.map((p) => p.meanReturn)).toFixed(2)}${t} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
  // Seed order within each method, whatever order the parallel jobs finished in.
  const { tasks: ts, methods: ms } = results.info;
  results.curves.sort((a, b) => ts.indexOf(a.task) - ts.indexOf(b.task) || ms.indexOf(a.method) - ms.indexOf(b.method) || a.seed - b.seed);
  save();
  console.log(await writeReport(out, results));
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
