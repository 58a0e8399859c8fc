/**
 * A fleet over the in-process transport: MuJoCo arms behind their sim bridges in
 * /arm1, /arm2, their actors (naf_trainer, fleet.role actor), one learner node. Learning with two
 * actors; the learner killed mid-run and resumed; an actor joining late and one leaving; malformed
 * and stale parameter messages; duplicated and out-of-order episodes. The learner runs in-thread
 * (deterministic); production runs it in its worker thread (same FleetLearner).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessFleet, type InProcessFleet } from '../src/ros/fleet/inprocess_fleet.js';
import { InThreadFleetClient } from '../src/training/fleet_client.js';
import { decodeEpisode, encodeEpisode, encodePolicy } from '../src/ros/fleet/fleet_messages.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { buildArm } from '../src/training/factory.js';
import { evaluate, evaluationStarts } from '../src/training/episode.js';
import type { Float64MultiArrayMsg } from '../src/ros/transport/transport.js';
import { captureLogger } from './ros_fakes.js';

const small = (over: Record<string, unknown> = {}) => ({
  seed: 5,
  task: { horizon: 20 },
  agent: { hidden: [32, 32], warmup_steps: 20, batch_size: 16, updates_per_step: 1 },
  model_based: { refit_every_episodes: 2, imagination_length: 2 },
  training: { episodes: 1000, publish_policy_every_updates: 5, checkpoint_every_episodes: 1 },
  ...over,
});

async function fleetOf(arms: string[], params: Record<string, unknown>, startLearner = true) {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-fleet-ros-'));
  const cap = captureLogger();
  const fleet = await createInProcessFleet(params, { arms, makeLearner: (c, d) => InThreadFleetClient.create(c, d), runDir, logger: cap.logger });
  if (startLearner) await fleet.startLearner();
  return { fleet, cap, runDir };
}

/**
 * Advances the bus in 10 ms steps until `pred` (or `maxS` of bus time), letting the learner's
 * queued work (promises) run after every step.
 */
async function runUntil(fleet: InProcessFleet, pred: () => boolean, maxS: number): Promise<boolean> {
  for (let k = 0; k < maxS * 100 && !pred(); k++) {
    fleet.bus.advance(0.01);
    await new Promise((r) => setImmediate(r));
  }
  return pred();
}

/** Every torque published on each arm's command topic (a probe on the bus). */
function commandProbe(fleet: InProcessFleet, arms: string[]): { u: number[]; ns: string }[] {
  const probe = fleet.bus.createNode('command_probe');
  const out: { u: number[]; ns: string }[] = [];
  for (const ns of arms) probe.createSubscription('std_msgs/msg/Float64MultiArray', `${ns}/effort_controller/commands`, 'default', (m) => out.push({ u: Array.from(m.data), ns }));
  return out;
}

const effortLimits = [0.6, 0.1, 0.03]; // urdf/reacher3.urdf

function assertSafe(cmds: { u: number[] }[]): void {
  assert.ok(cmds.length > 0);
  for (const c of cmds) c.u.forEach((v, j) => assert.ok(Number.isFinite(v) && Math.abs(v) <= effortLimits[j] + 1e-12, `torque ${c.u}`));
}

/*
 * Two actors and one learner learn the reacher: fixed seed, 26 completed episodes in all (about 13
 * per arm), judged like the single-arm node's learning test — the greedy policy the actors end
 * with, on the fixed evaluation starts of a separate embedded arm (behind the same supervisor as
 * training), against the untrained policy's return (the learner's initial parameters, which both
 * actors start with); the bar is 25% of the way from it to 0 (untrained -9.8 to -9.9, so a bar of
 * about -7.4). `NAF_FLEET_SEED=<n>` re-runs it with another seed. One evaluation of one policy swings
 * by several units at this stage, as on one arm, so a single seed passes or fails by chance:
 * measured 2026-12-04 with the damping of the control law (D = 0.075, 0.0125, 0.00375
 * N·m·s/rad injected), greedy return after: seed 1 -13.43, 2 -6.12,
 * 3 -5.54 (the test's), 4 -6.11, 5 -4.39, 7 -8.01, 9 -8.74, 11 -3.14, 13 -8.37, 15 -6.51: 6 of 10 pass. With
 * the damping in the URDF instead (0.07, 0.013, 0.004; 2026-11-26): 3 -5.43, 5 -3.97, 7 -5.75, 9 -6.14, 15 -6.58, 11 -9.77, 13 -15.23: 5 of
 * 7. Seed 3 passes with both.
 */
test('two actors + learner over the transport learn the reacher (fixed seed)', async (t) => {
  const { fleet, runDir } = await fleetOf(['/arm1', '/arm2'], {
    seed: Number(process.env.NAF_FLEET_SEED ?? 3),
    task: { horizon: 50 },
    agent: { hidden: [64, 64], architecture: 'shared', updates_per_step: 1 },
    model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 0.5 },
    training: { episodes: 26, publish_policy_every_updates: 5, checkpoint_every_episodes: 1000 },
  });
  const evalArm = await buildArm(fleet.config);
  const arm1 = fleet.arms.get('/arm1')!;
  const starts = evaluationStarts(fleet.task, 5, 12345);
  const greedy = () => {
    const r = evaluate(evalArm, fleet.task, arm1.actor, starts).returns;
    return r.reduce((a, b) => a + b, 0) / r.length;
  };
  const cmds = commandProbe(fleet, ['/arm1', '/arm2']);
  try {
    assert.ok(await runUntil(fleet, () => arm1.actor.policyVersion >= 0, 1), 'the latched initial policy reaches the actors');
    const before = greedy();
    assert.ok(await runUntil(fleet, () => [...fleet.arms.values()].every((a) => a.trainer.state === 'DONE'), 4000), 'both actors stop at the fleet budget');
    const learner = fleet.learner!.learner;
    assert.equal(learner.info.completed, 26);
    // An episode running when the budget is reached is finished, then refused by the learner.
    const ended = [...fleet.arms.values()].map((a) => a.trainer.completed + a.trainer.aborted).reduce((a, b) => a + b, 0);
    assert.equal(ended, 26 + learner.info.aborted + learner.afterBudget);
    for (const a of fleet.arms.values()) assert.ok(a.trainer.completed >= 10, `${a.ns} completed ${a.trainer.completed}: both arms collect`);
    assert.equal(fleet.arms.get('/arm2')!.actor.policyVersion, arm1.actor.policyVersion, 'both arms hold the same final policy');
    const after = greedy();
    t.diagnostic(`greedy return before ${before.toFixed(2)}, after ${after.toFixed(2)}; arms ${[...fleet.arms.values()].map((a) => a.trainer.completed).join(', ')}`);
    assert.ok(after > before + 0.25 * Math.abs(before), `greedy return before ${before.toFixed(2)}, after 26 fleet episodes ${after.toFixed(2)}`);
    const s = learner.fleet!.arms;
    assert.ok(s.every((a) => a.refits >= 2), `each arm refits its own model: ${JSON.stringify(s)}`);
    for (const a of fleet.arms.values()) assert.equal(a.trainer.supervisor.counts.watchdog + a.trainer.supervisor.counts.non_finite, 0);
    assertSafe(cmds);
  } finally {
    await fleet.close();
    evalArm.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('the learner killed mid-run: actors keep acting safely with the last parameters; resumed, it gets the missed episodes once and training goes on', async () => {
  const { fleet, cap, runDir } = await fleetOf(['/arm1', '/arm2'], small());
  const cmds = commandProbe(fleet, ['/arm1', '/arm2']);
  // Every distinct episode the actors send, from a probe on the episodes topic.
  const sent = new Map<string, number>();
  fleet.bus.createNode('episode_probe').createSubscription('std_msgs/msg/Float64MultiArray', '/learner/episodes', 'default', (m) => {
    const e = decodeEpisode(m, fleet.task);
    sent.set(`${e.arm}:${e.session}:${e.episode}`, e.u.length);
  });
  try {
    assert.ok(await runUntil(fleet, () => (fleet.learner!.learner.info.completed ?? 0) >= 4 && fleet.learner!.learner.info.updates > 0, 200));
    const first = fleet.learner!.learner.incarnation;
    await fleet.killLearner();
    await runUntil(fleet, () => false, 0.05); // what it published before it died still arrives
    const versions = [...fleet.arms.values()].map((a) => a.actor.policyVersion);
    const done = fleet.completed();
    assert.ok(await runUntil(fleet, () => fleet.completed() >= done + 6, 200), 'the actors keep running episodes without the learner');
    assert.deepEqual([...fleet.arms.values()].map((a) => a.actor.policyVersion), versions, 'with the parameters they held');
    for (const a of fleet.arms.values()) {
      assert.equal(a.trainer.supervisor.counts.non_finite, 0);
      assert.match(a.client.diagnostics('/x', 0).message, /learner silent for \d+\.\d s: acting with the last parameters held/);
    }
    const { learner } = await fleet.startLearner(true);
    assert.ok(learner.incarnation > first);
    assert.ok(cap.lines.some((l) => /resumed from checkpoint .*ckpt-/.test(l.message)), 'the learner says where it resumed from');
    // The actors' transient-local history brings every episode the learner missed; those in its checkpoint are dropped.
    await runUntil(fleet, () => false, 0.05);
    const R = (fleet.learner!.client as InThreadFleetClient).learner.session.parts.learner.R;
    const steps = [...sent.values()].reduce((a, b) => a + b, 0);
    assert.equal(R.size, steps, `R holds each of the ${sent.size} episodes sent once (${steps} steps)`);
    assert.ok(learner.duplicates > 0, 'the episodes already in the checkpoint came again and were dropped');
    assert.ok(await runUntil(fleet, () => [...fleet.arms.values()].every((a) => a.client.policyHeld?.incarnation === learner.incarnation), 200),
      'the actors follow the restarted learner (a newer incarnation) although its version restarted from the checkpoint');
    const updates = learner.info.updates;
    assert.ok(await runUntil(fleet, () => learner.info.updates > updates + 50, 200), 'training goes on');
    assertSafe(cmds);
  } finally {
    await fleet.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('an actor joining late gets the latched policy and its own controller; an actor leaving does not stop the learner', async () => {
  const { fleet, cap, runDir } = await fleetOf(['/arm1'], small({ fleet: { arm_timeout_s: 3 } }));
  try {
    assert.ok(await runUntil(fleet, () => fleet.arms.get('/arm1')!.trainer.completed >= 4, 200));
    const learner = fleet.learner!.learner;
    const late = await fleet.addArm('/arm2');
    await runUntil(fleet, () => false, 0.05);
    assert.equal(late.actor.policyVersion, fleet.arms.get('/arm1')!.actor.policyVersion, 'the latched policy reaches the late actor at once');
    assert.ok(await runUntil(fleet, () => late.trainer.completed >= 4 && late.client.controllerHeld.version >= 1, 200), 'it trains, and gets its own refitted controller');
    assert.equal(late.client.controllerHeld.incarnation, learner.incarnation);
    assert.equal(learner.info.arms, 2);
    assert.ok(cap.lines.some((l) => /arm \/arm2 joined the fleet \(learner arm 1, 2 arms\)/.test(l.message)));
    // /arm2 goes away: the learner keeps training on /arm1's episodes and says /arm2 is silent.
    fleet.killArm('/arm2');
    const updates = learner.info.updates, c1 = fleet.arms.get('/arm1')!.trainer.completed;
    assert.ok(await runUntil(fleet, () => fleet.arms.get('/arm1')!.trainer.completed >= c1 + 4, 200));
    assert.ok(learner.info.updates > updates, 'training goes on');
    assert.ok(cap.lines.some((l) => l.level === 'warn' && /arm \/arm2 sent no episode for 3 s \(fleet\.arm_timeout_s\): training goes on with the other arms/.test(l.message)));
    assert.equal(learner.diagnostics().level, 1);
  } finally {
    await fleet.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('malformed and stale parameter messages are refused and counted; the actor keeps its policy and a newer valid one is taken', async () => {
  const { fleet, runDir } = await fleetOf(['/arm1'], small());
  const rogue = fleet.bus.createNode('rogue');
  const pub = rogue.createPublisher('std_msgs/msg/Float64MultiArray', '/learner/policy', 'latched');
  const arm = fleet.arms.get('/arm1')!;
  const cmds = commandProbe(fleet, ['/arm1']);
  try {
    assert.ok(await runUntil(fleet, () => arm.trainer.completed >= 3 && arm.actor.policyVersion > 0, 200));
    fleet.learner!.learner.shutdown(); // no more publications from the real learner in this test
    fleet.learner!.node.destroy();
    const held = arm.client.policyHeld!;
    const inc = held.incarnation;
    const snap = (fleet.learner!.client as InThreadFleetClient).learner.session.parts.agent.snapshot();
    const send = (m: Float64MultiArrayMsg) => { pub.publish(m); fleet.bus.spinSome(); };
    const valid = encodePolicy({ ...snap, version: held.version + 10 }, inc);
    send({ ...valid, data: Float64Array.from(valid.data).subarray(0, valid.data.length - 2) }); // wrong size
    send({ ...valid, data: Float64Array.from(valid.data, (v, i) => (i === 100 ? NaN : v)) });
    send({ ...valid, data: Float64Array.from(valid.data, (v, i) => (i === 100 ? v + 1 : v)) }); // checksum
    const other = { ...snap, heads: { ...snap.heads, mu: snap.heads.mu.slice(1) } };
    send(encodePolicy({ ...other, version: held.version + 20 }, inc)); // another network
    send(encodePolicy({ ...snap, version: held.version - 1 }, inc)); // stale: older version
    send(encodePolicy({ ...snap, version: held.version + 30 }, inc - 1)); // stale: an older learner
    assert.deepEqual(arm.client.refused, { malformed: 1, non_finite: 1, checksum: 1, shape: 1, stale: 2 });
    assert.equal(arm.actor.policyVersion, held.version, 'the policy in use did not change');
    const st = arm.client.diagnostics('/arm1/naf_trainer', 0);
    assert.equal(st.level, 1);
    assert.match(st.message, /refused: malformed 1, non_finite 1, checksum 1, shape 1, stale 2/);
    send(valid);
    assert.equal(arm.actor.policyVersion, held.version + 10, 'a newer valid policy is installed');
    assert.ok(await runUntil(fleet, () => arm.trainer.completed >= 5, 200), 'and the arm keeps training episodes');
    assertSafe(cmds);
  } finally {
    await fleet.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('duplicated, replayed and out-of-order episodes are stored once; malformed ones not at all', async () => {
  const { fleet, runDir } = await fleetOf(['/arm1'], small());
  const captured: Float64MultiArrayMsg[] = [];
  fleet.bus.createNode('capture').createSubscription('std_msgs/msg/Float64MultiArray', '/learner/episodes', 'default', (m) => captured.push(m));
  try {
    assert.ok(await runUntil(fleet, () => captured.length >= 3, 200));
    fleet.arms.get('/arm1')!.trainer.pause(); // no new episodes during the check
    await runUntil(fleet, () => false, 0.05);
    const client = fleet.learner!.client as InThreadFleetClient;
    const R = client.learner.session.parts.learner.R;
    const size = R.size;
    const learner = fleet.learner!.learner;
    const rogue = fleet.bus.createNode('replayer').createPublisher('std_msgs/msg/Float64MultiArray', '/learner/episodes', { reliability: 'reliable', durability: 'transient_local', depth: 20 });
    for (const m of [captured[2], captured[0], captured[2], captured[1], captured[0]]) rogue.publish(m);
    // an out-of-order pair of a new session: 2 before 1, then 1 twice
    const e = decodeEpisode(captured[0], fleet.task);
    const s2 = (n: number) => encodeEpisode({ ...e, session: e.session + 1, episode: n }, fleet.task);
    for (const m of [s2(2), s2(1), s2(1)]) rogue.publish(m);
    rogue.publish({ ...captured[1], data: Float64Array.from(captured[1].data, (v, i) => (i === 30 ? Infinity : v)) });
    await runUntil(fleet, () => false, 0.05);
    assert.equal(learner.duplicates, 6);
    assert.equal(R.size, size + 2 * e.u.length, 'only the two new episodes were stored');
    assert.equal(learner.refused.non_finite, 1);
  } finally {
    await fleet.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
