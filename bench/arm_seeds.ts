/**
 * One params file over several seeds, as `naf-ros train` runs it: the held-out test of the final and
 * the best policy per seed, the safety supervisor's interventions, wall time; then the final policy
 * deployed as `naf-ros run` deploys it (the node in deploy mode against the MuJoCo bridge, homing
 * included, on the same 20 held-out starts): its successes and the supervisor's interventions there.
 * The evidence on arms as published and the shipped configs (docs/your-arm.md) comes from here.
 *
 *   node --import tsx bench/arm_seeds.ts --config <params.yaml> --seeds 1,2,3 --out bench/results/<dir> [--label <name>]
 *
 * Writes `<out>/results.json` (stamped: commit and whether the tree was clean, config file and
 * SHA-256 of its resolved content, node/package versions, CPU, date), `<out>/table.md`, and per
 * seed the run's small files (`runs/seed<S>/`: config.yaml, summary.md, test.json, eval.jsonl,
 * metrics.csv — not the checkpoints). Runs one seed at a time; an existing seed in results.json is
 * kept (re-running continues an interrupted sweep).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { loadParamsFile } from '../src/config/load.js';
import { absolutePaths } from '../src/config/params_file.js';
import type { EvalRecord, TestReport } from '../src/report/run_folder.js';
import { readRecords } from '../src/report/run_folder.js';
import { interventionTotal } from '../src/safety/supervised_arm.js';
import { deploySuccesses, runEmbeddedDeploy } from '../src/ros/deploy/deploy_system.js';
import { Trainer } from '../src/training/trainer.js';
import { createLogger } from '../src/util/logger.js';

interface SeedResult {
  seed: number;
  final: { episode: number; successes: number; medianDistanceCm: number; meanReturn: number; interventions: number };
  best: { episode: number; successes: number; medianDistanceCm: number; meanReturn: number; interventions: number } | null;
  /** Training-episode interventions (control steps), total. */
  trainingInterventions: number;
  /** `naf-ros run` of the final policy: 20 held-out starts through the node and the MuJoCo bridge. */
  deploy?: { episodes: number; successes: number; medianDistanceCm: number; aborted: number; interventions: Record<string, number>; state: string };
  /** First evaluation at which all evaluation starts ended within 2 cm (null: never). */
  firstAllWithin: number | null;
  evalMedianCm: { episode: number; median: number }[];
  wallSeconds: number;
}

const program = new Command('arm_seeds')
  .requiredOption('--config <file>', 'params file')
  .option('--seeds <list>', 'comma-separated seeds', '1,2,3')
  .requiredOption('--out <dir>', 'results folder')
  .option('--label <name>', 'name of the arm in the table')
  .option('--episodes <n>', 'override training.episodes', (v) => Number(v))
  .parse();
const o = program.opts<{ config: string; seeds: string; out: string; label?: string; episodes?: number }>();

const git = (...a: string[]) => { try { return execFileSync('git', a, { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
const base = absolutePaths(loadParamsFile(o.config));
if (o.episodes) base.training.episodes = o.episodes;
const stamp = {
  commit: git('rev-parse', 'HEAD'), clean: git('status', '--porcelain', '--untracked-files=no') === '',
  config: o.config, configSha256: createHash('sha256').update(JSON.stringify({ ...base, seed: 0, run_dir: '' })).digest('hex'),
  node: process.version, naf_ros: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
  cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, date: new Date().toISOString(),
};
mkdirSync(join(o.out, 'runs'), { recursive: true });
const resultsFile = join(o.out, 'results.json');
const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { runs: SeedResult[]; configSha256: string }) : null;
if (previous && previous.configSha256 !== stamp.configSha256) throw new Error(`${resultsFile} holds runs of another config; use a new --out`);
const runs: SeedResult[] = previous?.runs ?? [];
const label = o.label ?? basename(o.config).replace(/\.ya?ml$/, '');

for (const seed of o.seeds.split(',').map(Number)) {
  if (runs.some((r) => r.seed === seed)) continue;
  const runDir = join(mkdtempSync(join(tmpdir(), 'naf-arm-seeds-')), `seed${seed}`);
  const logger = createLogger({ file: join(runDir, 'log.jsonl'), console: false });
  const t0 = Date.now();
  const trainer = await Trainer.create({ ...structuredClone(base), seed }, runDir, logger);
  await trainer.run();
  trainer.dispose();
  const test = JSON.parse(readFileSync(join(runDir, 'test.json'), 'utf8')) as TestReport;
  const evals = readRecords<EvalRecord>(join(runDir, 'eval.jsonl'));
  const metrics = readRecords<{ interventions?: Parameters<typeof interventionTotal>[0] }>(join(runDir, 'metrics.jsonl'));
  const pol = (p: TestReport['final']) => ({
    episode: p.episode, successes: p.successes, medianDistanceCm: +(p.medianDistance * 100).toFixed(3), meanReturn: +p.meanReturn.toFixed(4),
    interventions: p.interventions ? interventionTotal(p.interventions) : NaN,
  });
  const r: SeedResult = {
    seed, final: pol(test.final), best: test.best ? pol(test.best) : null,
    trainingInterventions: metrics.reduce((a, m) => a + (m.interventions ? interventionTotal(m.interventions) : 0), 0),
    firstAllWithin: evals.find((e) => e.successes === e.finalDistances.length)?.episode ?? null,
    evalMedianCm: evals.map((e) => ({ episode: e.episode, median: +(e.medianDistance * 100).toFixed(2) })),
    wallSeconds: Math.round((Date.now() - t0) / 1000),
  };
  const dep = await runEmbeddedDeploy(runDir, { episodes: 20, logger: createLogger({ console: false }), onArm: () => {} });
  const dists = dep.episodes.map((e) => e.finalDistance).sort((a, b) => a - b);
  r.deploy = {
    episodes: dep.episodes.length, successes: deploySuccesses(dep.episodes), medianDistanceCm: +(100 * (dists[(dists.length - 1) >> 1] ?? NaN)).toFixed(3),
    aborted: dep.episodes.filter((e) => e.aborted).length,
    interventions: Object.fromEntries(Object.entries(dep.interventions).filter(([, n]) => n > 0)), state: dep.state,
  };
  runs.push(r);
  const keep = join(o.out, 'runs', `seed${seed}`);
  mkdirSync(keep, { recursive: true });
  for (const f of ['config.yaml', 'summary.md', 'test.json', 'eval.jsonl', 'metrics.csv']) if (existsSync(join(runDir, f))) copyFileSync(join(runDir, f), join(keep, f));
  rmSync(runDir, { recursive: true, force: true });
  writeFileSync(resultsFile, JSON.stringify({ ...stamp, label, runs }, null, 1) + '\n');
  console.log(`${label} seed ${seed}: final ${r.final.successes}/20 (median ${r.final.medianDistanceCm} cm, ${r.final.interventions} interventions), best ${r.best?.successes ?? '-'}/20, ${r.wallSeconds} s; deployed ${r.deploy.successes}/${r.deploy.episodes}, interventions ${JSON.stringify(r.deploy.interventions)}`);
}

const ivs = (i: Record<string, number>) => Object.entries(i).map(([k, n]) => `${k} ${n}`).join(', ') || '0';
const deployCell = (r: SeedResult) => (r.deploy ? `${r.deploy.successes}/${r.deploy.episodes} (median ${r.deploy.medianDistanceCm.toFixed(2)} cm); interventions ${ivs(r.deploy.interventions)}` : 'not run');
const rows = runs.sort((a, b) => a.seed - b.seed).map((r) => `| ${r.seed} | ${r.final.successes}/20 | ${r.final.medianDistanceCm.toFixed(2)} | ${r.best ? `${r.best.successes}/20 (ep. ${r.best.episode})` : '–'} | ${r.best ? r.best.medianDistanceCm.toFixed(2) : '–'} | ${r.firstAllWithin ?? 'never'} | ${r.trainingInterventions} | ${r.final.interventions} | ${deployCell(r)} | ${Math.round(r.wallSeconds / 60)} min |`);
const pass = runs.filter((r) => r.final.successes >= 18).length;
writeFileSync(join(o.out, 'table.md'), [
  `# ${label}: ${o.config}, ${base.training.episodes} episodes, seeds ${runs.map((r) => r.seed).join(', ')}`,
  '',
  `Commit ${stamp.commit.slice(0, 7)}${stamp.clean ? '' : ' (uncommitted changes)'}, ${stamp.date.slice(0, 10)}, ${stamp.cpu} (${stamp.cores} cores), node ${stamp.node}. Command: \`node --import tsx bench/arm_seeds.ts --config ${o.config} --seeds ${o.seeds}${o.episodes ? ` --episodes ${o.episodes}` : ''} --out ${o.out}\`.`,
  '',
  '| seed | final: within 2 cm (20 held-out starts) | final median cm | best: within 2 cm | best median cm | first evaluation with all 5 within 2 cm | training interventions (steps) | final-policy test interventions | deployed (naf-ros run, same starts): within 2 cm; supervisor | wall (training) |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  `Final policy >= 18/20 within 2 cm on ${pass} of ${runs.length} seeds. Held-out test: 20 starts of the test stream (seed 2024), greedy policy, success = final tip distance < 2 cm; interventions = control steps in which the safety supervisor changed the command. Deployed: the final policy through the node in deploy mode (homing to each start, the supervisor, the watchdog) against the MuJoCo bridge with the same params file, on the same 20 starts (\`naf-ros run --checkpoint <run> --episodes 20\`); "supervisor" counts its interventions in those episodes, homing included.`,
  '',
].join('\n'));
console.log(readFileSync(join(o.out, 'table.md'), 'utf8'));
