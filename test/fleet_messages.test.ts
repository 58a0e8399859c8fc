/**
 * The fleet's messages over std_msgs/msg/Float64MultiArray (src/ros/fleet/fleet_messages.ts): episodes,
 * policy parameters, learner status and iLQG controllers survive encoding exactly, and every
 * malformed message is refused with the reason the receivers count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../src/config/load.js';
import { buildAgent, buildTask } from '../src/training/factory.js';
import { createActor } from '../src/agent/actor.js';
import { initController } from '../src/control/lg_controller.js';
import {
  decodeController, decodeEpisode, decodePolicy, decodeStatus, encodeController, encodeEpisode, encodePolicy, encodeStatus,
  FleetMessageError, type PolicyShape,
} from '../src/ros/fleet/fleet_messages.js';
import type { FleetEpisode } from '../src/training/fleet_learner.js';
import type { Float64MultiArrayMsg } from '../src/ros/transport/transport.js';
import { Rng } from '../src/util/rng.js';

const dims = { dX: 11, dU: 3, T: 4 };

function episode(over: Partial<FleetEpisode> = {}, steps = 4): FleetEpisode {
  const rng = new Rng(3);
  const v = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
  return {
    arm: '/arm1', session: 1_764_000_000_123, episode: 7, controller: 'ilqg', aborted: steps < dims.T, return: -1.25, policyVersion: 350,
    x: Array.from({ length: steps ? steps + 1 : 0 }, () => v(11)), u: Array.from({ length: steps }, () => v(3)), r: v(steps), terminal: new Array(steps).fill(false),
    ...over,
  };
}

/** A copy of the message with `data[i]` changed (the checksum recomputed unless told not to). */
function tamper(m: Float64MultiArrayMsg, f: (d: Float64Array) => void): Float64MultiArrayMsg {
  const data = Float64Array.from(m.data);
  f(data);
  return { layout: structuredClone(m.layout), data };
}

const refused = (fn: () => unknown, reason: string, re?: RegExp) => assert.throws(fn, (e: unknown) => {
  assert.ok(e instanceof FleetMessageError, String(e));
  assert.equal(e.reason, reason, e.message);
  if (re) assert.match(e.message, re);
  return true;
});

test('an episode round-trips exactly, labelled so that ros2 topic echo shows what it holds', () => {
  const ep = episode();
  const m = encodeEpisode(ep, dims);
  assert.deepEqual(m.layout.dim.map((d) => d.label), ['naf_ros/episode/1 arm=/arm1', 'header', 'x', 'u', 'r', 'terminal', 'crc32']);
  assert.deepEqual(m.layout.dim.slice(1).map((d) => [d.size, d.stride]), [[1, 9], [5, 11], [4, 3], [4, 1], [4, 1], [1, 1]]);
  assert.equal(m.layout.dim[0].size, m.data.length);
  assert.deepEqual(decodeEpisode(m, dims), ep);
  const empty = episode({ aborted: true }, 0);
  assert.deepEqual(decodeEpisode(encodeEpisode(empty, dims), dims), empty, 'an episode aborted before its first step');
});

test('an episode carries the supervisor\'s interventions by rule when the actor sends them; a count above the steps is refused', () => {
  const interventions = { velocity_limit: 1, soft_limit: 0, workspace_limit: 0, torque_clamp: 4, non_finite: 0 };
  const ep = episode({ interventions });
  const m = encodeEpisode(ep, dims);
  assert.deepEqual(m.layout.dim.map((d) => d.label), ['naf_ros/episode/1 arm=/arm1', 'header', 'x', 'u', 'r', 'terminal', 'interventions', 'crc32']);
  assert.deepEqual(decodeEpisode(m, dims), ep);
  refused(() => decodeEpisode(encodeEpisode(episode({ interventions: { ...interventions, torque_clamp: 5 } }), dims), dims), 'malformed', /interventions \[1, 0, 0, 5, 0\] must be counts of the episode's 4 steps/);
});

test('malformed episodes are refused with their reason', () => {
  const m = encodeEpisode(episode(), dims);
  refused(() => decodeEpisode(tamper(m, (d) => { d[20] = NaN; }), dims), 'non_finite', /section x/);
  refused(() => decodeEpisode(tamper(m, (d) => { d[20] += 1e-9; }), dims), 'checksum');
  refused(() => decodeEpisode({ ...m, data: Float64Array.from(m.data).subarray(1) }, dims), 'malformed', /dim\[0\]\.size/);
  refused(() => decodeEpisode({ layout: { ...m.layout, dim: m.layout.dim.map((d, i) => (i === 3 ? { ...d, size: 3 } : d)) }, data: m.data }, dims), 'malformed');
  refused(() => decodeEpisode(m, { ...dims, dX: 12 }), 'shape', /dX = 11/);
  refused(() => decodeEpisode(encodeEpisode(episode({ aborted: false }, 3), dims), dims), 'shape', /completed episode of 3 steps; the horizon T is 4/);
  refused(() => decodeEpisode(encodeEpisode(episode({ arm: 'arm 1' }), dims), dims), 'malformed');
  refused(() => decodeEpisode(encodePolicyLike(), dims), 'malformed', /format label/);
});

function encodePolicyLike(): Float64MultiArrayMsg {
  return encodeStatus({ done: false, budget: 1, completed: 0, aborted: 0, steps: 0, updates: 0, shedSteps: 0, shedUpdates: 0, checkpoints: 0, arms: 0, policyVersion: -1 }, 1);
}

const variants: [string, Record<string, unknown>][] = [
  ['NAF, separate heads', { kind: 'naf', architecture: 'separate' }],
  ['NAF, shared trunk, batch norm, observation normalisation', { kind: 'naf', architecture: 'shared', batch_norm: true, normalize_observations: true }],
  ['DDPG', { kind: 'ddpg' }],
];
for (const [name, agentOver] of variants) {
  test(`policy parameters round-trip bit-exactly: ${name}`, () => {
    const config = parseConfig({ agent: { hidden: [16, 8], ...agentOver } });
    const task = buildTask(config);
    const agent = buildAgent(config, task);
    try {
      const rng = new Rng(1);
      const B = 8;
      const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
      for (let i = 0; i < 3; i++) agent.update({ x: f(B * 11), u: f(B * 3), r: f(B), x2: f(B * 11), terminal: new Float32Array(B), B });
      const snap = agent.snapshot();
      const shape: PolicyShape = { dX: 11, dU: 3, kind: config.agent.kind, architecture: config.agent.architecture, hidden: config.agent.hidden };
      const back = decodePolicy(encodePolicy(snap, 1_764_000_000_000), shape);
      assert.equal(back.incarnation, 1_764_000_000_000);
      assert.equal(back.snapshot.version, snap.version);
      const a = createActor(snap), b = createActor(back.snapshot);
      for (let k = 0; k < 5; k++) {
        const x = Float64Array.from({ length: 11 }, () => rng.normal());
        assert.deepEqual(b.mu(x), a.mu(x));
        if (a.choleskyP) assert.deepEqual(b.choleskyP!(x), a.choleskyP(x));
      }
      refused(() => decodePolicy(encodePolicy(snap, 1), { ...shape, hidden: [16, 16] }), 'shape', /agent\.hidden is \[16, 16\]/);
      refused(() => decodePolicy(encodePolicy(snap, 1), { ...shape, dU: 2 }), 'shape');
      const m = encodePolicy(snap, 1);
      refused(() => decodePolicy(tamper(m, (d) => { d[40] = Infinity; }), shape), 'non_finite');
      refused(() => decodePolicy(tamper(m, (d) => { d[40] *= 1.5; }), shape), 'checksum');
    } finally {
      agent.dispose();
    }
  });
}

test('the learner status and an iLQG controller round-trip; a controller of another horizon or a broken Cholesky factor is refused', () => {
  const info = { done: true, budget: 60, completed: 60, aborted: 2, steps: 3100, updates: 30000, shedSteps: 5, shedUpdates: 55, checkpoints: 61, arms: 2, policyVersion: 29950 };
  assert.deepEqual(decodeStatus(encodeStatus(info, 42)), { info, incarnation: 42 });
  const c = initController({ T: 4, dX: 11, dU: 3, uMax: Float64Array.of(0.6, 0.1, 0.03), initVar: 0.1, x0: new Float64Array(11) });
  const m = encodeController('/arm2', c, 3, 42);
  assert.deepEqual(decodeController(m, dims), { arm: '/arm2', controller: c, version: 3, incarnation: 42 });
  refused(() => decodeController(m, { ...dims, T: 5 }), 'shape', /T = 4/);
  const bad = structuredClone(c);
  bad.chol[2][1] = 0.5; // above the diagonal
  refused(() => decodeController(encodeController('/arm2', bad, 3, 42), dims), 'malformed', /lower triangular/);
});
