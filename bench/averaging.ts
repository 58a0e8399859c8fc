/**
 * Policy averaging on vs off, paired: one training run per seed, and at every evaluation point three
 * greedy policies from the same learner evaluated on the same held-out starts —
 *
 *   off        the online weights theta_e (what `agent.policy_averaging: 0` deploys);
 *   ema_init   the plain EMA a_e = (1 - beta) a_{e-1} + beta theta_e started at episode 1, i.e. at
 *              the random initial weights (the averaging this project shipped before the fix);
 *   corrected  the learner's own average (`greedySnapshot`): started at the first episode with
 *              updates and bias-corrected (`LearnerBase.averagePolicy`).
 *
 * Averaging changes only which weights are greedy: exploration, imagination and iLQG use the online
 * weights, so one run holds all three arms' policies exactly and the comparison is paired per seed
 * and per evaluation point (no seed-to-seed training noise between the arms).
 *
 *   node --import tsx bench/averaging.ts --config config/reacher.yaml --seeds 1,...,8 --episodes 60 \
 *       --every 5 --out bench/results/<dir>
 *
 * Per evaluation point: mean return and median final distance over the `training.test_episodes`
 * held-out test starts (`training.test_seed`), success = final distance < 2 cm. Writes
 * `<out>/results.json` (stamped: commit, clean tree, config hash, versions, CPU, date; per seed and
 * evaluation point the three arms' figures), `<out>/table.md` (mean over seeds of each arm, and the
 * paired differences corrected − off and corrected − ema_init with percentile-bootstrap 95 %
 * intervals over seeds). An existing seed in results.json is kept (re-running continues).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { PolicySnapshot } from '../src/agent/types.js';
import { loadParamsFile } from '../src/config/load.js';
import { absolutePaths } from '../src/config/params_file.js';
import { evaluate, summariseEvaluation, testStarts } from '../src/training/episode.js';
import { Trainer } from '../src/training/trainer.js';
import { createLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';

const ARMS = ['off', 'ema_init', 'corrected'] as const;
type ArmName = (typeof ARMS)[number];
interface Point { episode: number; meanReturn: number; successes: number; medianDistanceCm: number }
interface SeedResult { seed: number; wallSeconds: number; points: Record<ArmName, Point[]> }

const program = new Command('averaging')
  .requiredOption('--config <file>', 'params file (agent.policy_averaging > 0: its beta)')
  .option('--seeds <list>', 'comma-separated seeds', '1,2,3,4,5,6,7,8')
  .option('--episodes <n>', 'training episodes per seed', (v) => Number(v), 60)
  .option('--every <n>', 'evaluate every n episodes', (v) => Number(v), 5)
  .requiredOption('--out <dir>', 'results folder')
  .option('--report', 'only rebuild table.md from results.json')
  .parse();
const o = program.opts<{ config: string; seeds: string; episodes: number; every: number; out: string; report?: boolean }>();

const git = (...a: string[]) => { try { return execFileSync('git', a, { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
const base = absolutePaths(loadParamsFile(o.config));
base.training.episodes = o.episodes;
const beta = base.agent.policy_averaging;
if (!(beta > 0)) throw new Error(`${o.config}: agent.policy_averaging must be > 0 (the beta of the averages compared), got ${beta}`);
const resultsPath = join(o.out, 'results.json');
const previous = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) as { stamp: Record<string, unknown>; seeds: SeedResult[] } : null;
const stamp = previous && o.report ? previous.stamp : {
  commit: git('rev-parse', 'HEAD'), clean: git('status', '--porcelain', '--untracked-files=no') === '',
  config: o.config, configSha256: createHash('sha256').update(JSON.stringify({ ...base, seed: 0, run_dir: '' })).digest('hex'),
  beta, episodes: o.episodes, every: o.every,
  node: process.version, naf_ros: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
  cpu: `${cpus()[0]?.model ?? '?'} (${cpus().length} cores)`, date: new Date().toISOString().slice(0, 10),
  command: `node --import tsx bench/averaging.ts ${process.argv.slice(2).join(' ')}`,
};

/** Element-wise EMA step over every head's weights: a <- (1 - beta) a + beta s (a fresh copy when a is null). */
function emaStep(a: PolicySnapshot | null, s: PolicySnapshot): PolicySnapshot {
  if (!a) return structuredClone(s);
  for (const [name, layers] of Object.entries(s.heads)) {
    layers.forEach((l, i) => {
      const t = a.heads[name][i];
      for (let k = 0; k < l.W.length; k++) t.W[k] += (l.W[k] - t.W[k]) * beta;
      for (let k = 0; k < l.b.length; k++) t.b[k] += (l.b[k] - t.b[k]) * beta;
    });
  }
  a.version = s.version;
  return a;
}

async function runSeed(seed: number): Promise<SeedResult> {
  const config = structuredClone(base);
  config.seed = seed;
  const dir = mkdtempSync(join(tmpdir(), `averaging-s${seed}-`));
  const trainer = await Trainer.create(config, join(dir, 'run'), createLogger({ level: 'warn' }));
  const { arm, task, actor, agent } = trainer.parts;
  const starts = testStarts(task, config.training.test_episodes, config.training.test_seed);
  const points: Record<ArmName, Point[]> = { off: [], ema_init: [], corrected: [] };
  let emaInit: PolicySnapshot | null = null;
  const t0 = performance.now();
  const evalArm = (name: ArmName, policy: PolicySnapshot, episode: number) => {
    actor.setPolicy(policy);
    const s = summariseEvaluation(evaluate(arm, task, actor, starts), 0.02);
    points[name].push({ episode, meanReturn: s.meanReturn, successes: s.successes, medianDistanceCm: s.medianDistance * 100 });
  };
  await trainer.run({
    onEpisode: (m) => {
      // The learner has already averaged this episode in (Learner.endEpisode), so corrected = a_e.
      const online = agent.snapshot();
      emaInit = emaStep(emaInit, online);
      if (m.episode % o.every !== 0) return;
      evalArm('off', online, m.episode);
      evalArm('ema_init', emaInit, m.episode);
      evalArm('corrected', agent.greedySnapshot(), m.episode);
      actor.setPolicy(agent.snapshot());
    },
  });
  rmSync(dir, { recursive: true, force: true });
  return { seed, wallSeconds: (performance.now() - t0) / 1000, points };
}

/** Percentile-bootstrap 95 % interval of the mean of `xs` (10,000 resamples, fixed seed). */
function bootstrapMean(xs: number[]): [number, number] {
  const rng = new Rng(7);
  const means: number[] = [];
  for (let b = 0; b < 10000; b++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(rng.uniform() * xs.length)];
    means.push(s / xs.length);
  }
  means.sort((a, b) => a - b);
  return [means[Math.floor(0.025 * means.length)], means[Math.ceil(0.975 * means.length) - 1]];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f2 = (x: number) => x.toFixed(2);

function table(seeds: SeedResult[]): string {
  const episodes = seeds[0].points.off.map((p) => p.episode);
  const n = seeds.length;
  const at = (s: SeedResult, a: ArmName, i: number) => s.points[a][i];
  const lines = [
    `# Policy averaging: off, EMA from the initial weights, bias-corrected (beta ${stamp.beta})`, '',
    `Commit ${String(stamp.commit).slice(0, 7)}${stamp.clean ? '' : ' (tree not clean)'}, ${stamp.date}, ${stamp.cpu}, node ${stamp.node}. ` +
      `Config \`${stamp.config}\`, ${stamp.episodes} episodes, seeds ${seeds.map((s) => s.seed).join(', ')} (n = ${n}). Command: \`${stamp.command}\`.`, '',
    'Per evaluation point, over seeds: the mean return of each greedy policy on the held-out test starts, the successes ' +
      '(final distance < 2 cm, of the test starts) summed over seeds, and the paired difference of mean returns ' +
      'corrected − off and corrected − ema_init (mean over seeds, percentile-bootstrap 95 % interval over seeds). ' +
      'All three policies come from the same training run per seed.', '',
    '| episode | return off | return ema_init | return corrected | successes off / ema_init / corrected | corrected − off [95 % CI] | corrected − ema_init [95 % CI] |',
    '|---|---|---|---|---|---|---|',
  ];
  const sum = (a: ArmName, i: number) => seeds.reduce((acc, s) => acc + at(s, a, i).successes, 0);
  const total = base.training.test_episodes * n;
  episodes.forEach((e, i) => {
    const r = (a: ArmName) => mean(seeds.map((s) => at(s, a, i).meanReturn));
    const d = (a: ArmName) => seeds.map((s) => at(s, 'corrected', i).meanReturn - at(s, a, i).meanReturn);
    const ci = (xs: number[]) => { const [lo, hi] = bootstrapMean(xs); return `${f2(mean(xs))} [${f2(lo)}, ${f2(hi)}]`; };
    lines.push(`| ${e} | ${f2(r('off'))} | ${f2(r('ema_init'))} | ${f2(r('corrected'))} | ${sum('off', i)} / ${sum('ema_init', i)} / ${sum('corrected', i)} of ${total} | ${ci(d('off'))} | ${ci(d('ema_init'))} |`);
  });
  // Area under the greedy curve: mean return over all evaluation points, per seed.
  const auc = (a: ArmName) => seeds.map((s) => mean(s.points[a].map((p) => p.meanReturn)));
  const dAuc = (a: ArmName) => auc('corrected').map((x, k) => x - auc(a)[k]);
  const ci = (xs: number[]) => { const [lo, hi] = bootstrapMean(xs); return `${f2(mean(xs))} [${f2(lo)}, ${f2(hi)}]`; };
  lines.push('', `Area under the greedy curve (mean return over the ${episodes.length} evaluation points, per seed; mean over seeds): ` +
    `off ${f2(mean(auc('off')))}, ema_init ${f2(mean(auc('ema_init')))}, corrected ${f2(mean(auc('corrected')))}; ` +
    `corrected − off ${ci(dAuc('off'))}, corrected − ema_init ${ci(dAuc('ema_init'))}.`);
  return lines.join('\n') + '\n';
}

mkdirSync(o.out, { recursive: true });
const seeds: SeedResult[] = previous?.seeds ?? [];
if (!o.report) {
  for (const seed of o.seeds.split(',').map(Number)) {
    if (seeds.some((s) => s.seed === seed)) continue;
    const r = await runSeed(seed);
    seeds.push(r);
    seeds.sort((a, b) => a.seed - b.seed);
    writeFileSync(resultsPath, JSON.stringify({ stamp, seeds }, null, 1));
    process.stdout.write(`seed ${seed}: ${Math.round(r.wallSeconds)} s; final returns off ${f2(r.points.off.at(-1)!.meanReturn)}, ema_init ${f2(r.points.ema_init.at(-1)!.meanReturn)}, corrected ${f2(r.points.corrected.at(-1)!.meanReturn)}\n`);
  }
}
writeFileSync(join(o.out, 'table.md'), table(seeds));
process.stdout.write(table(seeds));
