/**
 * A run that is not learning says so: each learning-health rule on synthetic
 * sequences (fires, stays quiet on a healthy sequence, fires once, clears, fires again when it
 * recurs), the reward bound behind the Q range, the mean-path baseline of the model error, and the
 * places a warning shows (metrics CSV, progress line, summary.md, /diagnostics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse } from 'd3-dsv';
import { progressLine } from '../src/cli/progress.js';
import { parseConfig } from '../src/config/load.js';
import { KinematicChain } from '../src/env/kinematics.js';
import { loadUrdf } from '../src/env/urdf.js';
import { warningsMarkdown } from '../src/report/report.js';
import { appendRecord } from '../src/report/run_folder.js';
import { learnerStatus, LearnerWindow, DIAG_OK, DIAG_WARN } from '../src/ros/trainer/diagnostics.js';
import { meanPathMse } from '../src/training/arm_learning.js';
import { LearnerSession } from '../src/training/learner_session.js';
import { HEALTH_THRESHOLDS, LearningHealth, rewardLowerBound, type EpisodeSignals, type HealthEvent } from '../src/training/learning_health.js';
import { Rng } from '../src/util/rng.js';

// Q_lo = 1 · (−1) / (1 − 0.9) = −10.
const opts = { gamma: 0.9, rewardScale: 1, rewardLowerBound: -1 };
const healthy = (episode: number, over: Partial<EpisodeSignals> = {}): EpisodeSignals => ({
  episode, loss: 1e-3, qMean: -2, modelMse: NaN, modelMseMeanPath: NaN, refits: 0, divergences: 0, ...over,
});
/** Feeds episodes 1..n (`at(i)` changes episode i) and returns every event. */
function runEpisodes(h: LearningHealth, n: number, at: (i: number) => Partial<EpisodeSignals>): HealthEvent[] {
  const out: HealthEvent[] = [];
  for (let i = 1; i <= n; i++) out.push(...h.observeEpisode(healthy(i, at(i))));
  return out;
}
const starts = (ev: HealthEvent[]) => ev.filter((e) => e.event === 'start').map((e) => `${e.code}@${e.episode}`);
const clears = (ev: HealthEvent[]) => ev.filter((e) => e.event === 'clear').map((e) => `${e.code}@${e.episode}`);

test('model_error: e = model MSE / mean-path MSE ≥ 0.35 on 3 refits in a row fires once; a refit below clears; it recurs', () => {
  // A refit every 5 episodes; e per refit from `ratios` (refit 1 has no previous model: NaN).
  const run = (ratios: number[]) => {
    const h = new LearningHealth(opts);
    const ev = runEpisodes(h, 5 * ratios.length, (i) => {
      const k = Math.floor(i / 5);
      return k === 0 ? {} : { refits: k, modelMse: ratios[k - 1] * 4, modelMseMeanPath: 4 };
    });
    return { h, ev };
  };
  // Healthy: the UR5e's measured ratios (0.005–0.262), and single or double excursions above 0.35.
  assert.deepEqual(run([NaN, 0.048, 0.262, 0.018, 0.7, 0.1, 0.9, 0.6, 0.2, 0.02]).ev, []);
  // The undamped UR5e's measured ratios, a healthy stretch, then a recurrence.
  const { h, ev } = run([NaN, 1.529, 0.44, 0.44, 0.712, 2.607, 0.1, 0.36, 0.4, 0.5]);
  assert.deepEqual(starts(ev), ['model_error@20', 'model_error@50'], 'at the third bad refit; again after it cleared and recurred');
  assert.deepEqual(clears(ev), ['model_error@35']);
  assert.deepEqual(h.codes, ['model_error']);
  const msg = ev[0].message;
  for (const part of ['0.44×', '1.76 vs 4', '≥ 0.35 on 3 refits', 'safety.damping_injection', 'control_rate_hz', 'Troubleshooting']) assert.ok(msg.includes(part), `"${part}" in: ${msg}`);
  // Episodes between refits repeat the last refit's numbers: they do not count again.
  const once = new LearningHealth(opts);
  assert.deepEqual(runEpisodes(once, 30, () => ({ refits: 2, modelMse: 4, modelMseMeanPath: 4 })), []);
});

test('td_loss: 1000× its running minimum and √loss ≥ 1% of |Q_lo| on 3 episodes fires once; the guard fires at once; 3 clean episodes clear', () => {
  // Healthy: the loss grows 30× while Q learns its scale (measured on the reacher), √loss ≪ 1% of |Q_lo| = 0.1.
  assert.deepEqual(runEpisodes(new LearningHealth(opts), 40, (i) => ({ loss: 1e-4 * Math.min(30, i) })), []);
  // Large growth of a tiny loss (√ below 1% of the range) is not alarming.
  assert.deepEqual(runEpisodes(new LearningHealth(opts), 10, (i) => ({ loss: i === 1 ? 1e-9 : 1e-4 })), []);
  const h = new LearningHealth(opts);
  const ev = runEpisodes(h, 14, (i) => ({ loss: i <= 2 ? 1e-3 : i <= 8 ? 1e4 : 1e-3 }));
  assert.deepEqual(starts(ev), ['td_loss@5']);
  assert.deepEqual(clears(ev), ['td_loss@11'], 'after 3 episodes back in range');
  assert.match(ev[0].message, /TD loss: 1\.00e\+4, 1\.00e\+7× its running minimum 0\.001.*agent\.learning_rate/);
  // Diverged from the first updates: no growth, but √loss above the whole value range |Q_lo| = 10.
  assert.deepEqual(starts(runEpisodes(new LearningHealth(opts), 5, () => ({ loss: 1e6 }))), ['td_loss@3']);
  assert.deepEqual(runEpisodes(new LearningHealth(opts), 5, () => ({ loss: 90 })), [], '√loss 9.5 < 10');
  // Divergence guard: any skipped update fires at once, named as such.
  const g = new LearningHealth(opts);
  const gev = runEpisodes(g, 8, (i) => ({ divergences: i >= 3 ? 2 : 0 }));
  assert.deepEqual(starts(gev), ['td_loss@3']);
  assert.match(gev[0].message, /2 update\(s\) skipped by the divergence guard/);
  assert.deepEqual(clears(gev), ['td_loss@6']);
});

test('q_range: mean Q outside [Q_lo, 0.05 |Q_lo|] on 2 episodes fires once; inside for 3 clears; never from one episode', () => {
  const h = new LearningHealth(opts);
  assert.ok(Math.abs(h.qLow + 10) < 1e-9);
  assert.deepEqual(runEpisodes(h, 20, (i) => ({ qMean: -9.9 + i * 0.5 })), [], 'inside [−10, 0.5]');
  assert.deepEqual(runEpisodes(new LearningHealth(opts), 10, (i) => ({ qMean: i === 4 || i === 7 ? -50 : -1 })), [], 'single episodes outside');
  const low = new LearningHealth(opts);
  const ev = runEpisodes(low, 12, (i) => ({ qMean: i >= 3 && i <= 6 ? -1e5 : -1 }));
  assert.deepEqual(starts(ev), ['q_range@4']);
  assert.deepEqual(clears(ev), ['q_range@9']);
  assert.match(ev[0].message, /mean Q -1\.00e\+5 outside \[-10, 0\.5\].*imagination rollouts leave the reachable workspace/);
  const high = new LearningHealth(opts);
  assert.deepEqual(starts(runEpisodes(high, 5, (i) => ({ qMean: i >= 2 ? 900 : -1 }))), ['q_range@3']);
  // Reward scale and discount set the range: s = 10, γ = 0.99 -> Q_lo = −1000, so −900 is inside.
  const scaled = new LearningHealth({ gamma: 0.99, rewardScale: 10, rewardLowerBound: -1 });
  assert.ok(Math.abs(scaled.qLow + 1000) < 1e-9);
  assert.deepEqual(runEpisodes(scaled, 5, () => ({ qMean: -900 })), []);
});

test('greedy_distance: worse than the episode-0 evaluation on 3 evaluations fires; clears only back at d_0', () => {
  const evals = (h: LearningHealth, d: number[]) => d.flatMap((m, i) => h.observeEval({ episode: 10 * i, medianDistance: m }));
  // Learning runs (measured, m): the reacher and the UR5e improve, wander, stay below the untrained distance.
  assert.deepEqual(evals(new LearningHealth(opts), [0.207, 0.088, 0.184, 0.132, 0.018, 0.012, 0.009]), []);
  assert.deepEqual(evals(new LearningHealth(opts), [0.205, 0.145, 0.07, 0.03, 0.025, 0.009]), []);
  // Slightly above d_0 (within max(1.2 d_0, d_0 + 1 cm)) is not "worse".
  assert.deepEqual(evals(new LearningHealth(opts), [0.2, 0.22, 0.23, 0.235, 0.22]), []);
  // The UR5e without damping injection (measured): 20.6 cm, then 52.0, 141.6, 83.7, 66.1; then made up.
  const h = new LearningHealth(opts);
  const ev = evals(h, [0.206, 0.52, 1.416, 0.837, 0.661, 0.22, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(starts(ev), ['greedy_distance@30', 'greedy_distance@90']);
  assert.deepEqual(clears(ev), ['greedy_distance@60'], '0.22 m is below the limit but above d_0: still active; 0.20 clears');
  assert.match(ev[0].message, /median final distance 83\.7 cm at episode 30, worse than the untrained policy's 20\.6 cm on 3 evaluations in a row/);
});

test('replay rebuilds the state of a run from its records (resume warns as the uninterrupted run would)', () => {
  // episodes 1-2 before learning starts (NaN loss and Q), then a diverging loss and Q
  const eps = Array.from({ length: 12 }, (_, k) => healthy(k + 1, k < 2 ? { loss: NaN, qMean: NaN } : { loss: k < 4 ? 1e-3 : 1e4, qMean: k < 4 ? -1 : -1e4 }));
  const ev = [0.2, 0.5, 0.6, 0.7].map((m, i) => ({ episode: 4 * i, medianDistance: m }));
  const live = new LearningHealth(opts);
  const liveEvents: HealthEvent[] = [];
  let k = 0;
  for (const e of ev) {
    while (k < eps.length && eps[k].episode <= e.episode) liveEvents.push(...live.observeEpisode(eps[k++]));
    liveEvents.push(...live.observeEval(e));
  }
  const cut = 8; // resume at episode 8: records up to it (read back from JSON lines: NaN -> null), then the rest live
  const json = <T>(a: T[]): T[] => JSON.parse(JSON.stringify(a));
  const resumed = LearningHealth.replay(opts, json(eps.filter((e) => e.episode <= cut)), json(ev.filter((e) => e.episode <= cut)));
  const after = resumed.observeEpisode(eps[cut]);
  const rest = [...after, ...resumed.observeEpisode(eps[cut + 1]), ...resumed.observeEpisode(eps[cut + 2]), ...resumed.observeEpisode(eps[cut + 3]), ...resumed.observeEval(ev[3])];
  assert.deepEqual(rest, liveEvents.filter((e) => e.episode > cut), 'the same events after the cut');
  assert.deepEqual(resumed.warnings, live.warnings);
  assert.deepEqual(live.codes, ['td_loss', 'q_range', 'greedy_distance']);
  assert.equal(liveEvents.filter((e) => e.event === 'start').length, 3, 'each fired once');
});

test('r_min: the chain bound contains every tip position (tip and target at most 2R apart)', () => {
  for (const [file, tip, joints] of [
    ['urdf/reacher3.urdf', 'fingertip', ['joint1', 'joint2', 'joint3']],
    ['urdf/ur5e.urdf', 'tool0', ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint']],
  ] as const) {
    const urdf = loadUrdf(file);
    const rMin = rewardLowerBound(urdf, tip, 0.01, joints.length);
    const R = (-rMin - 0.01 * joints.length) / 2;
    const chain = new KinematicChain(urdf, tip, joints);
    const rng = new Rng(1);
    let far = 0;
    for (let i = 0; i < 2000; i++) {
      const q = joints.map(() => (2 * rng.uniform() - 1) * Math.PI);
      far = Math.max(far, Math.hypot(...chain.position(q)));
    }
    assert.ok(far <= R, `${file}: a tip ${far.toFixed(3)} m from the root, bound R ${R.toFixed(3)} m`);
    assert.ok(R < 2 * far, `${file}: the bound ${R.toFixed(3)} m is not absurdly loose (farthest sampled tip ${far.toFixed(3)} m)`);
  }
});

test('meanPathMse: the new batch against the previous batch\'s mean state at each step', () => {
  const ep = (v: number[]) => ({ x: v.map((a) => Float64Array.of(a, 2 * a)), u: v.slice(1).map(() => new Float64Array(1)) });
  // reference mean path: x_1 = (1, 2), x_2 = (2, 4); batch: x_1 = (2, 4), x_2 = (2, 4)
  const ref = [ep([0, 0, 1]), ep([0, 2, 3])];
  const batch = [ep([5, 2, 2])];
  // squared errors: step 1 (1 + 4), step 2 (0 + 0); mean over 2 steps × 2 dims
  assert.equal(meanPathMse(ref, batch), 5 / 4);
  assert.ok(Number.isNaN(meanPathMse([], batch)));
  assert.throws(() => meanPathMse(ref, [ep([1, 2])]), /every episode needs 3 states/);
});

test('where a warning shows: CSV column, progress line, summary.md section, /diagnostics WARN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-health-'));
  appendRecord(dir, 'm.jsonl', 'm.csv', { episode: 1, warnings: [], returns: [1, 2] });
  appendRecord(dir, 'm.jsonl', 'm.csv', { episode: 2, warnings: ['model_error', 'td_loss'], returns: [3, 4] });
  const rows = csvParse(readFileSync(join(dir, 'm.csv'), 'utf8'));
  assert.deepEqual(rows.columns, ['episode', 'warnings', 'returns_1', 'returns_2'], 'codes in one column, numbers spread');
  assert.equal(rows[1].warnings, 'model_error td_loss');

  const line = progressLine({ episode: 12, total: 100, startEpisode: 0, elapsed: 60, warnings: ['model_error'] }, 80);
  assert.match(line, /^ep 12\/100 .*⚠ model_error/);
  assert.ok(line.length <= 78);
  assert.ok(!progressLine({ episode: 12, total: 100, startEpisode: 0, elapsed: 60, warnings: [] }, 80).includes('⚠'));

  const md = warningsMarkdown({
    episodes: [], warnings: [
      { code: 'q_range', episode: 4, message: 'Q values: ...', event: 'start' },
      { code: 'model_error', episode: 20, message: 'dynamics model: ...', event: 'start' },
      { code: 'q_range', episode: 9, message: 'q_range cleared', event: 'clear' },
    ],
  }).join('\n');
  assert.match(md, /## Warnings/);
  assert.match(md, /\*\*q_range\*\* from episode 4 \(cleared at episode 9\): Q values/);
  assert.match(md, /\*\*model_error\*\* from episode 20 \(still active at the end\)/);
  assert.match(warningsMarkdown({ episodes: [{ warnings: [] } as never], warnings: [] }).join('\n'), /None: the learning-health checks/);
  assert.match(warningsMarkdown({ episodes: [{} as never], warnings: [] }).join('\n'), /Not checked/);

  const win = new LearnerWindow();
  const stats = {
    at: Date.now(), episodes: 20, steps: 1000, updates: 900, imaginedTotal: 0, lastReturn: -5, divergences: 0, skippedSteps: 0, shedUpdates: 0,
    lagMeanMs: 1, lagMaxMs: 2, lagSamples: 5, checkpoints: 0, checkpointMs: NaN, refits: 4, ilqgRejected: 0, refit: null,
  };
  win.update({ ...stats, warnings: [] });
  win.close(Date.now());
  assert.equal(learnerStatus(win.last, true, 'hw').level, DIAG_OK);
  win.update({ ...stats, warnings: [{ code: 'model_error', episode: 20, message: 'dynamics model: 0.9×' }] });
  win.close(Date.now());
  const st = learnerStatus(win.last, true, 'hw');
  assert.equal(st.level, DIAG_WARN);
  assert.match(st.message, /not learning\? \[model_error\] from episode 20: dynamics model: 0\.9×/);
  assert.equal(st.values.find((v) => v.key === 'warnings')!.value, 'model_error');
});

test('supervisor_busy: the supervisor acting in >= 60% of the steps on 3 episodes fires, naming the likely cause of its busiest rule; 3 quiet episodes clear', () => {
  const iv = (velocity_limit: number, soft_limit = 0) => ({ interventions: { velocity_limit, soft_limit, workspace_limit: 0, torque_clamp: 0, non_finite: 0 }, steps: 50 });
  // The shipped reacher (measured, 3 seeds): at most 25 of 50 in one episode, never 3 in a row above 15.
  assert.deepEqual(starts(runEpisodes(new LearningHealth(opts), 12, (i) => iv(0, [25, 20, 2, 18, 0][i % 5]))), []);
  // The iiwa as published without damping injection: 36-83 of 50 steps in every episode.
  const h = new LearningHealth(opts);
  const ev = runEpisodes(h, 9, (i) => (i <= 5 ? iv([36, 52, 69, 60, 44][i - 1], [0, 10, 14, 2, 0][i - 1]) : iv(0, 2)));
  assert.deepEqual(starts(ev), ['supervisor_busy@3']);
  assert.match(ev[0].message, /changed the command in 83 of 50 steps \(velocity_limit 69, soft_limit 14\) on 3 episodes in a row: .* Likely: the arm too fast or too lightly damped for the control period \(safety\.damping_injection none/);
  assert.deepEqual(clears(ev), ['supervisor_busy@8']);
  assert.deepEqual(starts(runEpisodes(new LearningHealth(opts), 6, () => ({}))), [], 'records without counts (older runs, the node) are not checked');
});

test('the thresholds are the documented ones', () => {
  // docs/your-arm.md "Troubleshooting" and the module docstring quote these numbers.
  assert.deepEqual({ ...HEALTH_THRESHOLDS }, {
    modelRatio: 0.35, modelRefits: 3, modelClearRefits: 1, lossGrowth: 1000, lossRangeFraction: 0.01, lossEpisodes: 3, lossRangeAlone: 1,
    qUpperFraction: 0.05, qEpisodes: 2, distanceFactor: 1.2, distanceMargin: 0.01, distanceEvals: 3, clearEpisodes: 3,
    busyFraction: 0.6, busyEpisodes: 3,
  });
});

test('the ROS learner session checks every completed episode; its stats carry the active warnings (for /diagnostics)', async () => {
  const run = async (learningRate: number) => {
    const config = parseConfig({
      task: { horizon: 10 }, model_based: { enabled: false },
      agent: { hidden: [8, 8], updates_per_step: 1, warmup_steps: 8, batch_size: 8, replay_capacity: 1000, learning_rate: learningRate },
    });
    const session = await LearnerSession.create(config, mkdtempSync(join(tmpdir(), 'naf-health-session-')));
    const seen: string[][] = [];
    session.emit = (m) => { if (m.type === 'stats') seen.push((m.stats.warnings ?? []).map((w) => w.code)); };
    const rng = new Rng(3);
    const x = () => Float64Array.from({ length: 11 }, () => 0.3 * rng.normal());
    for (let ep = 0; ep < 4; ep++) {
      for (let t = 0; t < 10; t++) {
        const [x1, x2] = [x(), x()];
        session.observe({ x: x1, u: Float64Array.from({ length: 3 }, () => 0.1 * rng.normal()), r: -0.2 - 0.1 * rng.uniform(), x2, terminal: false, t });
      }
      session.endEpisode({ controller: 'naf', return: -3, aborted: false });
    }
    session.dispose();
    return seen;
  };
  // Measured: at learning rate 0.5 the mean Q leaves its range at once (q_range from episode 2),
  // and its TD loss exceeds the whole value range on episodes 1-3 (td_loss from episode 3).
  assert.deepEqual((await run(0.5)).slice(-3), [['q_range'], ['td_loss', 'q_range'], ['td_loss', 'q_range']], 'the stats after episodes 2-4');
  assert.ok((await run(0.001)).every((c) => c.length === 0));
});
