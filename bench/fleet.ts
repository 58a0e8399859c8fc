/**
 * `npm run bench -- --fleet [--fleet-arms 1,2,4] [--fleet-episodes 60]`: does a fleet learn faster
 * in wall-clock time (Gu, Holly, Lillicrap, Levine, ICRA 2017)?
 *
 * For each arm count N: N MuJoCo arms behind their sim bridges, N actors (naf_trainer, fleet.role
 * actor) and one learner node with its learner in a worker thread, all on the in-process bus
 * driven in real time (10 ms steps on a drift-free wall-clock schedule: the arms home and run their
 * episodes at the real control rate, as robots would), until the fleet has completed the budget
 * of real episodes (all arms together). Whenever the learner's count of completed episodes passes
 * a multiple of `evalEvery`, the newest policy it published is kept with the wall time and the
 * count; after the run each kept policy is evaluated greedily (no noise) on the fixed evaluation
 * starts of a separate embedded arm (the test-return protocol of the single-arm bench).
 *
 * Reported per N: the curve (test return against wall-clock seconds and against real episodes),
 * the wall time and real episodes to the common return R* (the lowest best test return of the N
 * runs: a return every run reached), the learner's updates made and shed, and the arms'
 * episodes. All N share the params (the config file's) and the seed; one run per N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicySnapshot } from '../src/agent/types.js';
import { parseConfig } from '../src/config/load.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { createInProcessFleet } from '../src/ros/fleet/inprocess_fleet.js';
import { buildActor, buildTask, projectPath } from '../src/training/factory.js';
import { evaluate, evaluationStarts } from '../src/training/episode.js';
import { WorkerFleetClient } from '../src/training/fleet_client.js';
import { fleetCurvesSvg } from '../src/report/plot.js';
import { silentLogger } from '../src/util/logger.js';
import { Rng } from '../src/util/rng.js';

export interface FleetPoint {
  /** Real episodes completed by the fleet (all arms) when the policy was taken. */
  episodes: number;
  /** Wall-clock seconds since the learner started. */
  wallS: number;
  /** Learner updates (the policy's version). */
  updates: number;
  /** Greedy test return (mean over the evaluation starts) and final distances, m. */
  meanReturn: number;
  medianDistance: number;
}

export interface FleetRun {
  arms: number;
  points: FleetPoint[];
  totals: {
    wallS: number; episodes: number; aborted: number; steps: number; updates: number; shedSteps: number; shedUpdates: number;
    perArm: { arm: string; completed: number; aborted: number }[]; interventions: Record<string, number>; loadavgStart: number[]; loadavgEnd: number[];
  };
}

/**
 * One run of N arms in real time. @param log progress lines
 */
async function fleetRun(params: Record<string, unknown>, arms: number, evalEvery: number, maxWallS: number, log: (s: string) => void): Promise<{ run: FleetRun; snapshots: PolicySnapshot[] }> {
  const runDir = mkdtempSync(join(tmpdir(), `naf-fleet-bench-${arms}-`));
  const names = Array.from({ length: arms }, (_, k) => `/arm${k + 1}`);
  const loadavgStart = loadavg();
  const fleet = await createInProcessFleet(params, {
    arms: names, runDir, logger: silentLogger(), steadyNow: () => performance.now() / 1000,
    makeLearner: (config, dir) => WorkerFleetClient.create(config, dir),
  });
  const { client } = await fleet.startLearner();
  let latest: PolicySnapshot | null = null;
  let info = client.startInfo;
  const kept: { episodes: number; wallS: number; snapshot: PolicySnapshot }[] = [];
  const t0 = performance.now();
  client.onPolicy((s) => { latest = s; });
  client.onStats((_st, _f, i) => {
    info = i;
    const next = (kept.length + 1) * evalEvery;
    if (i.completed >= next && latest) kept.push({ episodes: i.completed, wallS: (performance.now() - t0) / 1000, snapshot: latest });
  });
  // The untrained policy at episode 0.
  while (!latest) await new Promise((r) => setTimeout(r, 10));
  kept.unshift({ episodes: 0, wallS: 0, snapshot: latest });
  let lastLog = 0;
  for (let k = 1; !info.done && performance.now() - t0 < maxWallS * 1000; k++) {
    fleet.bus.advance(0.01);
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * 10 - performance.now())));
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`  ${arms} arm(s): ${((lastLog - t0) / 1000).toFixed(0)} s, ${info.completed} episodes, ${info.updates} updates, ${info.shedUpdates} shed`);
    }
  }
  const wallS = (performance.now() - t0) / 1000;
  // The final policy (the learner publishes it at the budget).
  await new Promise((r) => setTimeout(r, 300));
  if (latest && kept[kept.length - 1].snapshot !== latest) kept.push({ episodes: info.completed, wallS, snapshot: latest });
  const interventions: Record<string, number> = {};
  for (const a of fleet.arms.values()) for (const [k, v] of Object.entries(a.trainer.supervisor.counts)) interventions[k] = (interventions[k] ?? 0) + v;
  const perArm = [...fleet.arms.values()].map((a) => ({ arm: a.ns, completed: a.trainer.completed, aborted: a.trainer.aborted }));
  await fleet.close();
  rmSync(runDir, { recursive: true, force: true });
  return {
    snapshots: kept.map((k) => k.snapshot),
    run: {
      arms,
      points: kept.map((k) => ({ episodes: k.episodes, wallS: k.wallS, updates: k.snapshot.version, meanReturn: NaN, medianDistance: NaN })),
      totals: {
        wallS, episodes: info.completed, aborted: info.aborted, steps: info.steps, updates: info.updates, shedSteps: info.shedSteps, shedUpdates: info.shedUpdates,
        perArm, interventions, loadavgStart, loadavgEnd: loadavg(),
      },
    },
  };
}

/** The bench: runs, offline evaluation, R*, table and plot. */
export async function fleetBench(params: Record<string, unknown>, opts: { arms: number[]; episodes: number; evalEvery: number; log: (s: string) => void }): Promise<{ runs: FleetRun[]; rStar: number; table: string; svg: string }> {
  const p = { ...params, training: { ...(params.training as object ?? {}), episodes: opts.episodes, checkpoint_every_episodes: 1000 } };
  const config = parseConfig(p, 'fleet bench');
  const task = buildTask(config);
  const starts = evaluationStarts(task, config.training.eval_episodes, config.training.eval_seed);
  const evalArm = await MujocoArm.create(projectPath(config.urdf_path), { dt: 1 / config.control_rate_hz, jointNames: config.joints, meshSearchPath: config.mesh_search_path });
  const runs: FleetRun[] = [];
  try {
    for (const n of opts.arms) {
      opts.log(`fleet of ${n} arm(s), ${opts.episodes} episodes in all, real time`);
      // Generous cap: one arm's episode cycle is a few seconds here.
      const { run, snapshots } = await fleetRun(p, n, opts.evalEvery, 60 + (opts.episodes * 20) / n, opts.log);
      const actor = buildActor(config, task, new Rng('fleet-bench-eval'));
      run.points.forEach((pt, i) => {
        actor.setPolicy(snapshots[i]);
        const r = evaluate(evalArm, task, actor, starts);
        pt.meanReturn = r.returns.reduce((a, b) => a + b, 0) / r.returns.length;
        pt.medianDistance = [...r.finalDistances].sort((a, b) => a - b)[Math.floor(r.finalDistances.length / 2)];
      });
      const t = run.totals;
      opts.log(`  ${n} arm(s): ${t.episodes} episodes in ${t.wallS.toFixed(0)} s, ${t.updates} updates, ${t.shedUpdates} shed (${t.shedSteps} of ${t.steps} steps); ` +
        `test return ${run.points.map((q) => `${q.episodes}:${q.meanReturn.toFixed(2)}`).join(' ')}`);
      runs.push(run);
    }
  } finally {
    evalArm.dispose();
  }
  const rStar = Math.min(...runs.map((r) => Math.max(...r.points.map((q) => q.meanReturn))));
  return { runs, rStar, table: fleetTable(runs, rStar, opts), svg: await fleetCurvesSvg(runs.map((r) => ({ arms: r.arms, points: r.points })), rStar) };
}

/** First point of a run at or above R* (the test return), or null. */
export function reach(run: FleetRun, rStar: number): FleetPoint | null {
  return run.points.find((q) => q.meanReturn >= rStar - 1e-9) ?? null;
}

export function fleetTable(runs: FleetRun[], rStar: number, opts: { episodes: number; evalEvery: number }): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  const rows = runs.map((r) => {
    const q = reach(r, rStar);
    const best = Math.max(...r.points.map((p) => p.meanReturn));
    const t = r.totals;
    const shed = t.updates + t.shedUpdates > 0 ? t.shedUpdates / (t.updates + t.shedUpdates) : 0;
    return `| ${r.arms} | ${q ? f(q.wallS, 0) : 'not reached'} | ${q ? q.episodes : '-'} | ${f(best, 2)} | ${f(r.points[r.points.length - 1].meanReturn, 2)} | ${f(t.wallS, 0)} | ${t.episodes} (${t.perArm.map((a) => a.completed).join(' + ')}) | ${t.updates} | ${f(100 * shed, 0)}% | ${f(t.episodes / (t.wallS / 60), 1)} |`;
  });
  // Test return at equal wall-clock times: each run's last evaluation at or before the end of every run.
  const ends = [...new Set(runs.map((r) => Math.round(r.totals.wallS)))].sort((a, b) => a - b);
  const at = (r: FleetRun, t: number) => {
    const q = r.points.filter((p) => p.wallS <= t + 0.5).at(-1);
    return q ? `${f(q.meanReturn, 2)} (${q.episodes})` : '-';
  };
  const equal = [
    `| arms | ${ends.map((t) => `test return at ${t} s (episodes)`).join(' | ')} |`,
    `|---|${ends.map(() => '---').join('|')}|`,
    ...runs.map((r) => `| ${r.arms} | ${ends.map((t) => at(r, t)).join(' | ')} |`),
  ];
  return [
    `| arms | wall-clock s to R* | real episodes to R* | best test return | final test return | wall s for ${opts.episodes} episodes | episodes completed (per arm) | learner updates | updates shed | episodes / min |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `R* = ${rStar.toFixed(2)}: the lowest best test return of the runs (greedy policy, mean over the evaluation starts, evaluated every ${opts.evalEvery} fleet episodes). ` +
    '"to R*": the first evaluation at or above it (wall-clock seconds since the learner started; real episodes of all arms). Updates shed: the learner\'s real-time policy (src/training/fleet_learner.ts).',
    '',
    ...equal,
    '',
    'At equal wall-clock times (the end of each run): each run\'s newest evaluation at or before that time, with the fleet\'s real episodes then in brackets.',
  ].join('\n');
}

export const FLEET_INFO = () => ({ date: new Date().toISOString(), cores: cpus().length, cpu: cpus()[0]?.model, node: process.version });
