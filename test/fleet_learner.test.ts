/**
 * The fleet learner (src/training/fleet_learner.ts, learner.ts): one Q-function, R and R_f, and per
 * arm its own B_f/B_old, model and iLQG controller; episodes deduplicated by (arm, actor session,
 * episode number); the fleet's budget; checkpoint and resume of the whole fleet; a stop that
 * loses no received episode, and the ledger that shows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as settle } from 'node:timers/promises';
import { parseConfig } from '../src/config/load.js';
import { FleetLearner, type FleetEpisode, type FleetMessage, type LedgerLine } from '../src/training/fleet_learner.js';
import { readRecords, RUN_FILES } from '../src/report/run_folder.js';
import { WorkerFleetClient } from '../src/training/fleet_client.js';
import { Rng } from '../src/util/rng.js';
import { DRILL_ENV, parseWorkerDrill } from '../src/agent/naf/drill.js';
import type { NafAgent } from '../src/agent/naf/agent.js';

const T = 6;
const config = (over: Record<string, unknown> = {}) => parseConfig({
  seed: 2,
  task: { horizon: T },
  agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 8, batch_size: 8, replay_capacity: 2000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 3, imagination_starts: 2, imagination_length: 2, fictional_capacity: 2000 },
  training: { episodes: 100, publish_policy_every_updates: 10, checkpoint_every_episodes: 1 },
  ros: { max_learner_lag_ms: 1e9 },
  ...over,
});

const rng = new Rng(11);
function ep(arm: string, session: number, episode: number, over: Partial<FleetEpisode> = {}): FleetEpisode {
  const steps = over.aborted ? 3 : T;
  const v = (n: number, s = 0.1) => Float64Array.from({ length: n }, () => s * rng.normal());
  return {
    arm, session, episode, controller: 'naf', aborted: false, return: -1, policyVersion: -1,
    x: Array.from({ length: steps + 1 }, () => v(11)), u: Array.from({ length: steps }, () => v(3, 0.01)), r: v(steps), terminal: new Array(steps).fill(false),
    ...over,
  };
}

function collect(l: FleetLearner): FleetMessage[] {
  const out: FleetMessage[] = [];
  l.emit = (m) => out.push(m);
  return out;
}

test('arms have their own batches, refits and controllers; one R holds every arm\'s steps; duplicates and replays are stored once', async () => {
  const l = await FleetLearner.create(config(), mkdtempSync(join(tmpdir(), 'naf-fleet-')));
  const msgs = collect(l);
  const learner = l.session.parts.learner;
  assert.equal(await l.ingest(ep('/arm1', 100, 1)), 'accepted');
  assert.equal(await l.ingest(ep('/arm2', 200, 1)), 'accepted');
  assert.equal(learner.arms.length, 2);
  assert.deepEqual(msgs.filter((m) => m.type === 'controller').map((m) => m.type === 'controller' && [m.arm, m.version]), [['/arm1', 0], ['/arm2', 0]], 'each arm gets its initial controller when it joins');
  const first = ep('/arm1', 100, 2);
  assert.equal(await l.ingest(first), 'accepted');
  // arm 1 has 2 episodes: its refit; arm 2's batch is untouched
  assert.equal(learner.arms[0].refits, 1);
  assert.equal(learner.arms[1].refits, 0);
  assert.equal(learner.arms[1].Bf.length, 1);
  assert.equal(learner.arms[0].Bold.length, 2);
  const c = msgs.filter((m) => m.type === 'controller');
  assert.equal(c.length, 3);
  assert.ok(c[2].type === 'controller' && c[2].arm === '/arm1' && c[2].version === 1, 'the refitted controller goes to its own arm');
  const size = learner.R.size;
  assert.equal(size, 3 * T);
  // the same episode again (a redelivery), an older one, out of order, a restarted actor
  assert.equal(await l.ingest(first), 'duplicate');
  assert.equal(await l.ingest(ep('/arm1', 100, 1)), 'duplicate');
  assert.equal(learner.R.size, size, 'duplicates store nothing');
  assert.equal(await l.ingest(ep('/arm2', 200, 3)), 'accepted', 'out of order: 3 before 2');
  assert.equal(await l.ingest(ep('/arm2', 200, 2)), 'accepted');
  assert.equal(await l.ingest(ep('/arm2', 200, 3)), 'duplicate');
  assert.equal(await l.ingest(ep('/arm1', 101, 1)), 'accepted', 'a restarted actor (new session) counts from 1 again');
  assert.equal(await l.ingest(ep('/arm2', 200, 4, { aborted: true })), 'accepted');
  assert.equal(learner.R.size, size + 3 * T + 3);
  const st = l.status();
  assert.deepEqual(st.arms.map((a) => [a.id, a.completed, a.aborted, a.duplicates, a.sessions]), [['/arm1', 3, 0, 2, 2], ['/arm2', 3, 1, 1, 1]]);
  assert.equal(learner.episodes, 7);
  l.dispose();
});

test('the fleet checkpoint restores arms, their models and controllers, the seen episodes and the counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-fleet-resume-'));
  const a = await FleetLearner.create(config(), dir);
  collect(a);
  for (let e = 1; e <= 3; e++) {
    await a.ingest(ep('/arm1', 100, e));
    await a.ingest(ep('/arm2', 200, e));
  }
  await a.idle();
  const la = a.session.parts.learner;
  assert.ok(readdirSync(join(dir, 'checkpoints')).length > 0);
  const b = await FleetLearner.create(config({ ros: { max_learner_lag_ms: 1e9, resume: dir } }), dir);
  const msgs = collect(b);
  const lb = b.session.parts.learner;
  assert.equal(lb.arms.length, 2);
  assert.equal(lb.R.size, la.R.size);
  for (const i of [0, 1]) {
    assert.deepEqual(lb.arms[i].controller, la.arms[i].controller);
    assert.equal(lb.arms[i].refits, la.arms[i].refits);
    assert.equal(lb.arms[i].Bf.length, la.arms[i].Bf.length);
    assert.equal(lb.arms[i].models.tvlg.ready, la.arms[i].models.tvlg.ready);
  }
  assert.deepEqual(b.state(), a.state());
  assert.equal(await b.ingest(ep('/arm2', 200, 3)), 'duplicate', 'an episode in the checkpoint is not taken twice');
  assert.equal(await b.ingest(ep('/arm2', 200, 4)), 'accepted');
  const before = msgs.length;
  b.publishAll();
  assert.deepEqual(msgs.slice(before).filter((m) => m.type === 'controller').map((m) => m.type === 'controller' && m.arm), ['/arm1', '/arm2'], 'a restarted learner sends every arm its controller');
  a.dispose();
  b.dispose();
});

test('at the fleet\'s budget the learner checkpoints, says it is done, and takes no more episodes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-fleet-budget-'));
  const l = await FleetLearner.create(config({ training: { episodes: 3, publish_policy_every_updates: 10, checkpoint_every_episodes: 100 } }), dir);
  const msgs = collect(l);
  await l.ingest(ep('/arm1', 1, 1));
  await l.ingest(ep('/arm2', 1, 1, { aborted: true }));
  await l.ingest(ep('/arm2', 1, 2));
  assert.equal(l.isDone, false, 'aborted episodes do not count');
  assert.equal(await l.ingest(ep('/arm1', 1, 2)), 'accepted');
  assert.equal(l.isDone, true);
  assert.equal(await l.ingest(ep('/arm1', 1, 3)), 'after_budget');
  assert.equal(readdirSync(join(dir, 'checkpoints')).filter((f) => f.startsWith('ckpt-')).length, 1, 'the final checkpoint');
  const last = msgs.filter((m) => m.type === 'stats').at(-1);
  assert.ok(last?.type === 'stats' && last.info.done && last.info.completed === 3 && last.fleet.afterBudget === 0);
  assert.ok(msgs.some((m) => m.type === 'log' && /training budget of 3 episodes/.test(m.text)));
  assert.equal(l.status().afterBudget, 1);
  l.dispose();
});

test('the worker client runs the same fleet learner and sheds the steps it reaches too late', async () => {
  const client = await WorkerFleetClient.create(config({ ros: { max_learner_lag_ms: 50 } }), mkdtempSync(join(tmpdir(), 'naf-fleet-worker-')));
  const policies: number[] = [];
  client.onPolicy((s) => policies.push(s.version));
  let last: { shed: number; steps: number } = { shed: 0, steps: 0 };
  client.onStats((_s, _f, info) => { last = { shed: info.shedSteps, steps: info.steps }; });
  for (let e = 1; e <= 4; e++) assert.equal(await client.ingest(ep('/arm1', 9, e), Date.now()), 'accepted');
  assert.equal(await client.ingest(ep('/arm1', 9, 4), Date.now()), 'duplicate');
  // An episode that reached the learner node 10 s ago: all its steps are past their deadline.
  assert.equal(await client.ingest(ep('/arm1', 9, 5), Date.now() - 10_000), 'accepted');
  await client.save();
  assert.ok(policies.length > 0 && policies.at(-1)! > 0, `policies ${policies}`);
  assert.equal(last.steps, 5 * T);
  assert.ok(last.shed >= T, `shed steps ${last.shed}`);
  await client.close();
});

const ledger = (dir: string) => readRecords<LedgerLine>(join(dir, RUN_FILES.fleetEpisodes));
const keys = (lines: LedgerLine[]) => lines.map((l) => `${l.arm}/${l.session}/${l.episode}`);

test('a learner stopped with a full queue takes every episode it received, checkpoints after the last, and resumes without losing or repeating one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-fleet-stop-'));
  // No periodic checkpoint: the only one is the stop's.
  const cfg = config({ training: { episodes: 100, publish_policy_every_updates: 10, checkpoint_every_episodes: 1000 }, ros: { max_learner_lag_ms: 1e9 } });
  const client = await WorkerFleetClient.create(cfg, dir);
  const sent = [1, 2, 3, 4, 5, 6, 7, 8].map((e) => ep(e % 2 ? '/arm1' : '/arm2', 7, e));
  const answers = sent.map((e) => client.ingest(e, Date.now()));
  await client.close(); // at once: most of the eight are still queued in the learner thread's port
  assert.deepEqual(await Promise.all(answers), sent.map(() => 'accepted'), 'every episode handed to the learner before the stop is taken');
  assert.equal(await Promise.race([client.ingest(ep('/arm1', 7, 9), Date.now()), settle(200).then(() => 'no answer')]), 'no answer', 'the thread has ended');
  const lines = ledger(dir);
  assert.deepEqual(keys(lines), sent.map((e) => `${e.arm}/7/${e.episode}`), 'one ledger line per episode taken, in order');
  assert.deepEqual(lines.map((l) => l.taken), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(lines.some((l) => l.drained), `episodes taken during the stop are marked (drained: ${lines.map((l) => l.drained)})`);

  // Resume; the actors' transient-local history delivers the same episodes again, then a new one.
  const b = await FleetLearner.create(config({ ros: { max_learner_lag_ms: 1e9, resume: dir } }), dir);
  collect(b);
  assert.equal(b.session.episodeCounts.completed, 8, 'the stop\'s checkpoint holds all eight');
  for (const e of sent) assert.equal(await b.ingest(e), 'duplicate');
  assert.equal(await b.ingest(ep('/arm1', 7, 9)), 'accepted');
  await b.close();
  assert.equal(await b.ingest(ep('/arm1', 7, 10)), 'closed', 'after the stop an episode is refused, not taken');
  assert.deepEqual(keys(ledger(dir)), [...keys(lines), '/arm1/7/9'], 'exactly once over both sessions');
});

test('after a kill, the ledger is cut back to the checkpoint and the episodes after it are taken again, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-fleet-kill-'));
  const a = await FleetLearner.create(config({ training: { episodes: 100, publish_policy_every_updates: 10, checkpoint_every_episodes: 2 } }), dir);
  collect(a);
  for (let e = 1; e <= 3; e++) await a.ingest(ep('/arm1', 5, e));
  assert.equal(ledger(dir).length, 3);
  a.dispose(); // killed: episode 3 is in the ledger but not in the checkpoint (written after 2)
  const b = await FleetLearner.create(config({ ros: { max_learner_lag_ms: 1e9, resume: dir } }), dir);
  collect(b);
  assert.deepEqual(keys(ledger(dir)), ['/arm1/5/1', '/arm1/5/2']);
  assert.equal(await b.ingest(ep('/arm1', 5, 2)), 'duplicate');
  assert.equal(await b.ingest(ep('/arm1', 5, 3)), 'accepted');
  assert.deepEqual(keys(ledger(dir)), ['/arm1/5/1', '/arm1/5/2', '/arm1/5/3']);
  b.dispose();
});

test('a head-worker failure in a fleet learner (the drill NAF_ROS_DRILL_HEAD_WORKER): settled, logged, the worker restarted, learning goes on', async () => {
  assert.throws(() => parseWorkerDrill('die@5'), /NAF_ROS_DRILL_HEAD_WORKER: expected <throw\|exit\|stall>@<update number>, e\.g\. exit@2000; got "die@5"/);
  assert.equal(parseWorkerDrill(undefined), null);
  for (const kind of ['exit', 'throw'] as const) {
    process.env[DRILL_ENV] = `${kind}@30`;
    let l: FleetLearner;
    try {
      l = await FleetLearner.create(config({ agent: { hidden: [16, 16], updates_per_step: 1, warmup_steps: 8, batch_size: 8, replay_capacity: 2000, learner_threads: 2 } }), mkdtempSync(join(tmpdir(), 'naf-fleet-drill-')));
    } finally {
      delete process.env[DRILL_ENV];
    }
    const msgs = collect(l);
    const agent = l.session.parts.agent as NafAgent;
    const learner = l.session.parts.learner;
    for (let e = 1; learner.agent.updates < 30 && e < 50; e++) assert.equal(await l.ingest(ep('/arm1', 100, e)), 'accepted');
    const before = learner.agent.updates;
    assert.ok(before >= 30, `the drill's update reached: ${before}`);
    for (let e = 0; e < 4; e++) assert.equal(await l.ingest(ep('/arm2', 200, e + 1)), 'accepted');
    await agent.whenWorkerSettled();
    const logs = msgs.filter((m) => m.type === 'log').map((m) => m.type === 'log' && m.text).join('\n');
    assert.match(logs, new RegExp(`failed at update \\d+ \\(${kind === 'exit' ? 'exit' : 'error'}\\)`), logs);
    assert.ok(learner.agent.updates > before + 10, `learning went on: ${before} -> ${learner.agent.updates} updates`);
    assert.deepEqual(agent.threadStatus(), { configured: 2, inUse: 2, workerFailures: 1, oneThreadForGood: false });
    await l.close();
  }
});
