/**
 * `naf-ros report <run>` and the end of every training run (the node's too: `NodeRunFolder`): rebuilds `learning_curve.svg`,
 * `summary.md` (with the learning-health warnings of `warnings.jsonl`) and the CSV twins of the JSON-lines files from what the run folder holds, for any
 * run, finished, stopped, crashed or still running (it only reads the run's files).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { NafConfig } from '../config/schema.js';
import { runCurveSvg } from './run_curve.js';
import { nafRos } from '../cli/command_hint.js';
import { EPISODE_INTERVENTION_KINDS, sumInterventions, type EpisodeInterventions } from '../safety/supervised_arm.js';
import {
  BEST_CHECKPOINT, CHECKPOINT_EXT, median, readRecords, readRunConfig, rewriteCsv, RUN_FILES, SUCCESS_DISTANCE, writeAtomic,
  type EpisodeRecord, type EvalRecord, type PolicyTest, type TestReport,
} from './run_folder.js';

/**
 * Who wrote a run: `naf-ros train` on the embedded arm, the ROS node `naf_trainer` training on an
 * arm, the fleet's learner `naf_learner` (several arms), or `naf_trainer` in deploy mode (a
 * trained policy run on an arm, no learning).
 */
export type RunWriter = 'train' | 'node' | 'fleet' | 'deploy';

/** Everything the report says about a run. */
export interface RunFacts {
  runDir: string;
  /**
   * Who wrote it: a fleet's run is marked by `learner.log.jsonl` or records naming their arm, a
   * node's by `node.log.jsonl` or records counting aborted episodes.
   */
  writer: RunWriter;
  config: NafConfig;
  episodes: EpisodeRecord[];
  evals: EvalRecord[];
  test: TestReport | null;
  /** Learning-health warnings starting and clearing (warnings.jsonl), in order. */
  warnings: WarningEvent[];
  /** `ckpt-*` names, oldest first; the best checkpoint's name if there is one. */
  checkpoints: string[];
  best: string | null;
  /** The arm's collision geometry in one line (`collision.txt`), when the run wrote it. */
  collision: string | null;
}

/** One line of warnings.jsonl (`HealthEvent` of `src/training/learning_health.ts`). */
export interface WarningEvent {
  code: string;
  /** Episode the warning started (event 'start') or cleared ('clear') at. */
  episode: number;
  message: string;
  event: 'start' | 'clear';
}

/**
 * The "Warnings" section of summary.md: each warning with the episode it started, whether and when
 * it cleared, and its message; "none" when the run was checked and nothing warned; a note for runs
 * written before the checks (their records have no `warnings` field).
 */
export function warningsMarkdown(r: Pick<RunFacts, 'warnings' | 'episodes'>): string[] {
  const lines = ['## Warnings', ''];
  if (!r.warnings.length) {
    const checked = r.episodes.some((e) => e.warnings !== undefined);
    lines.push(checked
      ? 'None: the learning-health checks (dynamics model error, TD loss, Q range, greedy distance, supervisor interventions; docs/your-arm.md "Troubleshooting") found every signal in range.'
      : 'Not checked: this run was written before the learning-health checks.', '');
    return lines;
  }
  lines.push('A run that is not learning says so (docs/your-arm.md "Troubleshooting": what each warning means and what to do). From `warnings.jsonl`:', '');
  r.warnings.forEach((w, i) => {
    if (w.event !== 'start') return;
    const cleared = r.warnings.slice(i + 1).find((c) => c.code === w.code);
    const status = cleared?.event === 'clear' ? `cleared at episode ${cleared.episode}` : 'still active at the end';
    lines.push(`* ⚠ **${w.code}** from episode ${w.episode} (${status}): ${w.message}`);
  });
  lines.push('');
  return lines;
}

/** Reads the run folder. @throws ConfigError when `runDir` is not a run folder. */
export function readRunFacts(runDir: string): RunFacts {
  const config = readRunConfig(runDir);
  const episodes = readRecords<EpisodeRecord>(join(runDir, RUN_FILES.metrics));
  // eval.jsonl of runs written before success counts existed: derive them.
  const evals = readRecords<EvalRecord>(join(runDir, RUN_FILES.eval)).map((e) => ({
    ...e,
    successes: e.successes ?? e.finalDistances.filter((d) => d < SUCCESS_DISTANCE).length,
    medianDistance: e.medianDistance ?? [...e.finalDistances].sort((a, b) => a - b)[Math.floor((e.finalDistances.length - 1) / 2)],
  }));
  const testFile = join(runDir, RUN_FILES.test);
  let test: TestReport | null = null;
  if (existsSync(testFile)) {
    try { test = JSON.parse(readFileSync(testFile, 'utf8')); } catch { test = null; }
  }
  const dir = join(runDir, RUN_FILES.checkpoints);
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const checkpoints = names.filter((n) => n.startsWith('ckpt-')).sort();
  const collisionFile = join(runDir, RUN_FILES.collision);
  const collision = existsSync(collisionFile) ? readFileSync(collisionFile, 'utf8').trim() || null : null;
  const warnings = readRecords<WarningEvent>(join(runDir, RUN_FILES.warnings));
  const has = (file: string) => existsSync(join(runDir, file));
  const fleet = has(RUN_FILES.learnerLog) || episodes.some((e) => e.arm !== undefined);
  const node = has(RUN_FILES.nodeLog) || episodes.some((e) => e.aborted !== undefined);
  const writer: RunWriter = config.mode === 'deploy' ? 'deploy' : fleet ? 'fleet' : node ? 'node' : 'train';
  return { runDir, writer, config, episodes, evals, test, warnings, checkpoints, best: names.includes(BEST_CHECKPOINT) ? BEST_CHECKPOINT : null, collision };
}

const f2 = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : '–');
const cm = (m: number | undefined) => (m !== undefined && Number.isFinite(m) ? `${(m * 100).toFixed(2)} cm` : '–');

/** "1 h 02 min", "14 min 59 s", "42 s". */
export function duration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

/** What ran, in one line: agent, imagination model, p, I, l, n. */
export function describeMethod(c: NafConfig): string {
  const mb = c.model_based;
  const img = mb.enabled ? `imagination rollouts under ${mb.dynamics} dynamics (l = ${mb.imagination_length}, refit every n = ${mb.refit_every_episodes} episodes, off after ${mb.imagination_off_after_episodes})` : 'no imagination';
  const p = mb.enabled || mb.on_policy_fraction < 1 ? `, real episodes from the ${c.agent.kind.toUpperCase()} policy with p = ${mb.on_policy_fraction} and from iLQG otherwise` : '';
  return `${c.agent.kind.toUpperCase()} (${c.agent.hidden.join('×')} ${c.agent.architecture}, I = ${c.agent.updates_per_step}), ${img}${p}`;
}

/** How to continue an unfinished run, by who wrote it. */
function continueHint(r: RunFacts): string {
  if (r.writer === 'fleet') return `\`ros2 launch naf_ros fleet.launch.py resume:=${r.runDir}\` (or \`fleet_hardware.launch.py\`; naf_learner's \`ros.resume\`) continues it`;
  return r.writer === 'node'
    ? `\`ros2 launch naf_ros <launch file> resume:=${r.runDir}\` (parameter \`ros.resume\`) continues it`
    : `\`${nafRos('train', '--resume', r.runDir)}\` continues it`;
}

/** summary.md of a run. */
export function summaryMarkdown(r: RunFacts): string {
  if (r.writer === 'deploy') return deploySummaryMarkdown(r);
  const { config: c, episodes, evals, test } = r;
  // trained on arms over ROS 2: no evaluation or test episodes, aborted episodes, resume by launch argument
  const node = r.writer === 'node' || r.writer === 'fleet';
  const arms = [...new Set(episodes.map((e) => e.arm).filter((a): a is string => a !== undefined))];
  const name = basename(resolve(r.runDir));
  const done = episodes.length ? episodes[episodes.length - 1].episode : 0;
  const wall = episodes.length ? episodes[episodes.length - 1].wallSeconds : NaN;
  const last = episodes[episodes.length - 1];
  const complete = done >= c.training.episodes;
  const ev = c.training.eval_episodes;
  const bestEval = evals.reduce<EvalRecord | null>((b, e) => (!b || e.meanReturn > b.meanReturn ? e : b), null);
  const lastEval = evals[evals.length - 1];
  const evalRow = (label: string, e: EvalRecord | undefined | null) => e ? `| ${label} | ${e.episode} | ${f2(e.meanReturn)} | ${e.successes}/${e.finalDistances.length} | ${cm(e.medianDistance)} |` : `| ${label} | – | – | – | – |`;
  const testRow = (label: string, t: PolicyTest | null | undefined) => t ? `| ${label} | ${t.episode} | ${f2(t.meanReturn)} | ${t.successes}/${t.finalDistances.length} | ${cm(t.medianDistance)} | \`${t.checkpoint}\` |` : `| ${label} | – | – | – | – | – |`;
  const ckpt = (n: string) => join(r.runDir, RUN_FILES.checkpoints, n);
  const cfgFile = existsSync(join(r.runDir, RUN_FILES.config)) ? RUN_FILES.config : RUN_FILES.legacyConfig;
  const aborted = last?.aborted ?? 0;
  const lines = [
    `# Run ${name}`,
    '',
    `* **What ran:** ${describeMethod(c)}; reach task (tip \`${c.task.tip_link}\`, ${c.task.target_mode} target${c.task.target_mode === 'fixed' ? ` at (${c.task.fixed_target.join(', ')}) m` : 's'}), T = ${c.task.horizon} steps of ${(1000 / c.control_rate_hz).toFixed(0)} ms, seed ${c.seed}. Every parameter: [\`${cfgFile}\`](${cfgFile}).`,
    ...(r.writer === 'node' ? [`* **Where:** on an arm over ROS 2 (the robot, Gazebo or the MuJoCo sim bridge), by the node \`naf_trainer\` (its log: \`${RUN_FILES.nodeLog}\`; its /diagnostics reports: \`${RUN_FILES.diagnostics}\`).`] : []),
    ...(r.writer === 'fleet' ? [`* **Where:** on ${arms.length} arm${arms.length === 1 ? '' : 's'} over ROS 2 (${arms.map((a) => `\`${a}\``).join(', ') || 'none yet'}), each run by its \`naf_trainer\` actor, learned by the fleet's learner \`naf_learner\` (its log: \`${RUN_FILES.learnerLog}\`; its /diagnostics reports: \`${RUN_FILES.diagnostics}\`; each arm's log and reports are in its actor's run folder).`] : []),
    ...(r.collision ? [`* **Arm in the simulator:** ${r.collision}.`] : []),
    `* **Status:** ${complete ? `complete, ${done} of ${c.training.episodes} episodes` : `${done} of ${c.training.episodes} episodes (not finished: ${continueHint(r)})`}${node ? `; ${aborted} episode${aborted === 1 ? '' : 's'} aborted on the arm${r.writer === 'fleet' ? 's' : ''} (watchdog, e-stop, pause: no record of their own; their transitions are in R)` : ''}.`,
    `* **How long:** ${duration(wall)} of training wall time (all sessions)${last ? `; ${last.totalSteps} real steps, ${last.totalUpdates} gradient updates, ${last.imaginedTotal} imagined transitions` : ''}.`,
    '',
    ...(r.writer === 'fleet' && arms.length ? ['## Arms', '', ...armsTable(episodes, arms), ''] : []),
    ...warningsMarkdown(r),
    `## Evaluation during training`,
    '',
  ];
  if (node && !evals.length) {
    lines.push(`None: no greedy evaluation episodes on the arm in this run (\`ros.eval_every_episodes\` 0). Measure the policy on the embedded arm (\`${nafRos('eval', '--checkpoint', r.runDir)}\`, \`${nafRos('run', '--checkpoint', r.runDir)}\`) or on the arm (deploy mode: \`ros2 launch naf_ros policy.launch.py checkpoint:=<checkpoint>\`).`, '');
  } else {
    lines.push(
      `Greedy policy mu(x) every ${node ? `${c.ros.eval_every_episodes} episodes, on the arm (\`ros.eval_every_episodes\`: homing, the safety supervisor, not learned from),` : `${c.training.eval_every_episodes} episodes`} on the same ${ev} starts (seed ${c.training.eval_seed} of the evaluation stream, held out from training); success = final fingertip distance < ${SUCCESS_DISTANCE * 100} cm.`,
      '',
      '| evaluation | episode | mean return | within 2 cm | median final distance |',
      '|---|---|---|---|---|',
      evalRow('best', bestEval),
      evalRow('last', lastEval),
      '',
    );
  }
  lines.push(`## Held-out test of the final and the best policy`, '');
  if (test) {
    const testTable = (t: { final: PolicyTest; best: PolicyTest | null }) => [
      '| policy | episode | mean return | within 2 cm | median final distance | checkpoint |',
      '|---|---|---|---|---|---|',
      testRow('final', t.final),
      testRow('best', t.best),
    ];
    lines.push(
      `${test.episodes} starts from seed ${test.seed} of the test stream (disjoint from training's and from the evaluation starts that chose the best), greedy policy, written ${test.created}.`,
      '',
      ...testTable(test),
    );
    if (test.randomTargets) {
      lines.push('',
        `On ${test.randomTargets.episodes} random reachable targets across the workspace (joint configurations within ±${c.task.random_target_spread.toFixed(2)} rad of home, seed ${test.seed}, their own stream)${c.task.target_mode === 'fixed' ? ', which a policy trained on one target has not seen: how far its reach generalises' : ''}:`,
        '',
        ...testTable(test.randomTargets));
    }
    if (existsSync(join(r.runDir, RUN_FILES.testRollout))) lines.push('', `The final policy's test episodes are recorded in [\`${RUN_FILES.testRollout}\`](${RUN_FILES.testRollout}) (MCAP: Foxglove, \`ros2 bag play\`); watch them: \`${nafRos('view', r.runDir)}\`.`);
  } else if (node) {
    lines.push(`None: the ROS nodes do not test on the arm. On the embedded arm, the same held-out starts: \`${nafRos('eval', '--checkpoint', r.runDir)}\`.`);
  } else {
    lines.push(`Not run yet (the trainer runs it when a run ends or is stopped with Ctrl-C). By hand: \`${nafRos('eval', '--checkpoint', r.best ? ckpt('best') : r.runDir)}\`.`);
  }
  lines.push('', ...supervisorSection(r));
  lines.push('', '## Checkpoints', '');
  if (r.best) lines.push(`* **Best** (the best evaluation${bestEval ? `, episode ${bestEval.episode}` : ''}): \`${ckpt(r.best)}\` — \`${nafRos('eval', '--checkpoint', ckpt('best'))}\`, \`${nafRos('run', '--checkpoint', ckpt('best'))}\`.`);
  if (r.checkpoints.length) lines.push(`* **Newest** (${node ? '`resume:=` / `ros.resume`' : '`--resume`'} continues from it): \`${ckpt(r.checkpoints[r.checkpoints.length - 1])}\`${r.checkpoints.length > 1 ? `; kept before it: ${r.checkpoints.slice(0, -1).map((n) => `\`${n}\``).join(', ')}` : ''}.`);
  if (!r.best && !r.checkpoints.length) lines.push('None yet.');
  const size = r.checkpoints.concat(r.best ? [r.best] : []).filter((n) => n.endsWith(CHECKPOINT_EXT)).map((n) => statSync(ckpt(n)).size);
  if (size.length) lines.push(`* Size: ${(Math.max(...size) / 1e6).toFixed(1)} MB per checkpoint file (the complete training state: weights, optimiser, replay buffers, model, RNG).`);
  lines.push('', '## Learning curve', '', `![learning curve](${RUN_FILES.curve})`, '');
  return lines.join('\n');
}

/**
 * The per-arm table of a fleet run: each arm's episodes, and over its last 10 the mean return and
 * the median final distance, and its supervisor interventions over all of them.
 */
function armsTable(episodes: EpisodeRecord[], arms: string[]): string[] {
  if (!arms.length) return [];
  const lines = ['| arm | episodes | mean return, last 10 | median final distance, last 10 | supervisor interventions (control steps) |', '|---|---|---|---|---|'];
  for (const a of arms) {
    const mine = episodes.filter((e) => e.arm === a);
    const last = mine.slice(-10);
    const iv = mine.some((e) => e.interventions) ? String(EPISODE_INTERVENTION_KINDS.reduce((n, k) => n + sumInterventions(mine.map((e) => e.interventions))[k], 0)) : '–';
    lines.push(`| \`${a}\` | ${mine.length} | ${f2(last.reduce((n, e) => n + e.return, 0) / last.length)} | ${cm(median(last.map((e) => e.finalDistance).filter(Number.isFinite)))} | ${iv} |`);
  }
  return lines;
}

/**
 * summary.md of a deploy-mode node run: the policy and where it came from, its episodes on the arm
 * (return, success, final distance), the supervisor's interventions.
 */
function deploySummaryMarkdown(r: RunFacts): string {
  const { config: c, episodes } = r;
  const last = episodes[episodes.length - 1];
  const done = last?.episode ?? 0;
  const distances = episodes.map((e) => e.finalDistance).filter(Number.isFinite);
  const within = distances.filter((d) => d < SUCCESS_DISTANCE).length;
  const meanReturn = episodes.length ? episodes.reduce((a, e) => a + e.return, 0) / episodes.length : NaN;
  const budget = c.deploy.episodes;
  const aborted = last?.aborted ?? 0;
  const cfg = RUN_FILES.config;
  return [
    `# Deploy run ${basename(resolve(r.runDir))}`,
    '',
    `* **What ran:** the greedy policy mu(x) of \`${c.deploy.checkpoint}\` on the arm, by the ROS node \`naf_trainer\` in deploy mode: homing to each start, the safety supervisor, the watchdog and the e-stop as in training; no learning, no exploration noise, no iLQG. Reach task (tip \`${c.task.tip_link}\`, ${c.task.target_mode} target${c.task.target_mode === 'fixed' ? ` at (${c.task.fixed_target.join(', ')}) m` : 's'}), T = ${c.task.horizon} steps of ${(1000 / c.control_rate_hz).toFixed(0)} ms, starts from the held-out test stream (seed ${c.training.test_seed}). Every parameter: [\`${cfg}\`](${cfg}).`,
    `* **Status:** ${done} episode${done === 1 ? '' : 's'} completed${budget > 0 ? ` of ${budget} (\`deploy.episodes\`)` : ' (`deploy.episodes` 0: until stopped)'}; ${aborted} aborted (watchdog, e-stop, pause; no record).`,
    `* **How long:** ${duration(last?.wallSeconds ?? NaN)} of wall time${last ? `; ${last.totalSteps} control steps` : ''}.`,
    '',
    '## Episodes',
    '',
    `Success = final fingertip distance < ${SUCCESS_DISTANCE * 100} cm. One record per completed episode in [\`${RUN_FILES.metrics}\`](${RUN_FILES.metrics}).`,
    '',
    '| episodes | mean return | within 2 cm | median final distance |',
    '|---|---|---|---|',
    `| ${episodes.length} | ${f2(meanReturn)} | ${within}/${episodes.length} | ${cm(median(distances))} |`,
    '',
    ...supervisorSection(r),
    '',
    '## Episodes over time',
    '',
    `![episodes](${RUN_FILES.curve})`,
    '',
  ].join('\n');
}

/**
 * The "Safety supervisor" section: the interventions of the rules the run trained under (the same
 * supervisor as the node's, so what deployment with this params file would do), in training, in the
 * evaluations and in the held-out test.
 */
function supervisorSection(r: RunFacts): string[] {
  const counted = r.episodes.filter((e) => e.interventions);
  if (!counted.length) return ['## Safety supervisor', '', r.writer === 'train' ? 'Not recorded (a run from before training ran behind the supervisor).' : r.episodes.length ? 'Not recorded: the episodes came without intervention counts (actors of an earlier version).' : 'No episode recorded yet.'];
  const c = r.config.safety;
  const row = (label: string, i: EpisodeInterventions, steps: number) =>
    `| ${label} | ${steps} | ${EPISODE_INTERVENTION_KINDS.map((k) => i[k]).join(' | ')} |`;
  const T = r.config.task.horizon;
  const train = sumInterventions(counted.map((e) => e.interventions));
  const withAny = counted.filter((e) => EPISODE_INTERVENTION_KINDS.some((k) => e.interventions![k] > 0)).length;
  const evalTotal = sumInterventions(r.evals.map((e) => e.interventions));
  const rules = `this params file's rules (velocity limit ${c.velocity_limit} rad/s and the URDF's, soft limits ${c.soft_limit_margin} rad inside the URDF's, workspace box ${c.workspace_min.length ? `[${c.workspace_min}] .. [${c.workspace_max}] m` : 'none'}, torque clamp; damping injection ${c.damping_injection}, gravity compensation ${c.gravity_compensation})`;
  const onArm = r.writer !== 'train';
  const lines = [
    '## Safety supervisor',
    '',
    onArm
      ? `Every torque ${r.writer === 'fleet' ? 'each actor' : 'the node'} published passed its safety supervisor with ${rules}. Control steps of the recorded (completed) episodes in which a rule changed the command; the e-stop and the watchdog, which abort an episode, are on \`/diagnostics\` (\`${RUN_FILES.diagnostics}\`):`
      : `Every torque of training, evaluation and test passed the node's safety supervisor with ${rules}. Control steps in which a rule changed the command:`,
    '',
    `| episodes | control steps | ${EPISODE_INTERVENTION_KINDS.join(' | ')} |`,
    `|---|---|${EPISODE_INTERVENTION_KINDS.map(() => '---|').join('')}`,
    row(`${r.writer === 'deploy' ? 'deploy' : 'training'}: ${counted.length} episodes, ${withAny} with an intervention`, train, counted.reduce((a, e) => a + (e.steps ?? T), 0)),
  ];
  if (!onArm || r.evals.length) lines.push(row(`evaluations (${r.evals.length})`, evalTotal, r.evals.reduce((a, e) => a + e.finalDistances.length, 0) * T));
  if (r.test?.final.interventions) lines.push(row('held-out test, final policy', r.test.final.interventions, r.test.final.finalDistances.length * T));
  if (r.test?.best?.interventions) lines.push(row('held-out test, best policy', r.test.best.interventions, r.test.best.finalDistances.length * T));
  const testIv = r.test?.final.interventions ? EPISODE_INTERVENTION_KINDS.reduce((a, k) => a + r.test!.final.interventions![k], 0) : null;
  if (testIv !== null) lines.push('', testIv === 0
    ? 'The final policy met no rule in the held-out test: deployed with the same params file (`naf-ros run`, the node in deploy mode), the supervisor is not expected to intervene.'
    : `The final policy met the rules ${testIv} times in the held-out test: deployed with the same params file the supervisor will correct it likewise.`);
  return lines;
}

/**
 * Rewrites `learning_curve.svg`, `summary.md`, `metrics.csv` and `eval.csv` of a run.
 * @returns the paths written.
 * @throws ConfigError when `runDir` is not a run folder.
 */
export async function writeRunReport(runDir: string): Promise<{ svg: string; summary: string }> {
  const facts = readRunFacts(runDir);
  // CSV twins of the JSON-lines files there are (a node run has no eval.jsonl)
  for (const [jsonl, csv] of [[RUN_FILES.metrics, RUN_FILES.metricsCsv], [RUN_FILES.eval, RUN_FILES.evalCsv]] as const) {
    if (existsSync(join(runDir, jsonl))) rewriteCsv(runDir, jsonl, csv);
  }
  const svg = join(runDir, RUN_FILES.curve);
  const deploy = facts.writer === 'deploy';
  const title = `${basename(resolve(runDir))}: ${deploy ? `deploy of ${basename(facts.config.deploy.checkpoint)}` : describeMethodShort(facts.config)}`;
  writeAtomic(svg, await runCurveSvg(title, facts.episodes, facts.evals, SUCCESS_DISTANCE, facts.test, deploy ? { policyEpisodes: 'deploy (greedy policy on the arm)' } : {}));
  const summary = join(runDir, RUN_FILES.summary);
  writeAtomic(summary, summaryMarkdown(facts));
  return { svg, summary };
}

function describeMethodShort(c: NafConfig): string {
  const mb = c.model_based;
  return `${c.agent.kind.toUpperCase()}${mb.enabled ? ` + imagination (${mb.dynamics}), p = ${mb.on_policy_fraction}` : ''}, seed ${c.seed}`;
}
