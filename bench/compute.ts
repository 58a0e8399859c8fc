/**
 * Compute figures on this machine, each with its method (recorded in the JSON next to the value):
 * NAF updates/s at batch 64, policy inference latency for one state, TVLG refit + iLQG step time,
 * imagined transitions/s, and tensor count / heap / RSS sampled over a long run (soak).
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseConfig } from '../src/config/load.js';
import { buildTraining } from '../src/training/factory.js';
import { runEpisode } from '../src/training/episode.js';
import { imagine } from '../src/training/imagination.js';
import { createActor } from '../src/agent/actor.js';
import { ReplayBuffer } from '../src/agent/replay.js';
import { ilqgStep } from '../src/control/ilqg.js';
import { Rng } from '../src/util/rng.js';
import { ADAM_DEFAULTS, adamStep } from '../src/nn/adam.js';
import { alignedFloats, KernelMemory } from '../src/nn/kernels.js';
import { nodeJitter } from './jitter.js';
import { ddsAvailable, ddsJitter } from './dds_jitter.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Trajectory } from '../src/model/types.js';

export interface Figure { name: string; value: number; unit: string; method: string; backend: string; cores: number }

/** The network variants whose update rate the bench reports. */
export const UPDATE_RATE_VARIANTS = [
  { label: 'separate 2x200, 1 thread', args: ['--architecture', 'separate', '--threads', '1'] },
  { label: 'separate 2x200, 2 threads', args: ['--architecture', 'separate', '--threads', '2'] },
  { label: 'shared 2x200 trunk, 1 thread', args: ['--architecture', 'shared', '--threads', '1'] },
];

/** Runs bench/update_rate.ts in a fresh process and returns its JSON line. */
export function updateRate(args: string[], updates: number): { updatesPerSecond: number; cpuSecondsPerUpdate: number; updates: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/update_rate.ts', ...args, '--updates', String(updates)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/update_rate.ts ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const pct = (a: number[], q: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

export async function computeFigures(params: unknown, opts: { quick: boolean }): Promise<Figure[]> {
  const config = parseConfig(params, 'bench');
  const parts = await buildTraining(config);
  const { agent, task, arm, learner } = parts;
  const backend = tf.getBackend();
  const cores = cpus().length;
  const out: Figure[] = [];
  const fig = (name: string, value: number, unit: string, method: string) => out.push({ name, value, unit, method, backend, cores });

  // Real episodes for the model fit and the imagination starts.
  for (let i = 0; i < 6; i++) { runEpisode({ arm, task, actor: parts.actor, learner: null, start: task.sampleEpisodeStart(parts.rng) }); }
  const rng = new Rng(5);
  const episodes: Trajectory[] = [];
  for (let e = 0; e < 5; e++) {
    const start = task.sampleEpisodeStart(rng);
    parts.actor.beginEpisode();
    let x = task.observe(arm.reset(start.q, start.qd));
    const tr: Trajectory = { x: [x], u: [] };
    for (let t = 0; t < task.T; t++) {
      const u = parts.actor.act(x, t);
      const x2 = task.observe(arm.step(u));
      tr.x.push(x2); tr.u.push(u); x = x2;
    }
    episodes.push(tr);
  }

  // 1. NAF updates/s at batch 64: each variant in a fresh process (bench/update_rate.ts).
  for (const v of UPDATE_RATE_VARIANTS) {
    const r = updateRate(v.args, opts.quick ? 200 : 2000);
    fig(`NAF updates/s (batch 64), ${v.label}`, r.updatesPerSecond, 'updates/s', `bench/update_rate.ts ${v.args.join(' ')} --updates ${r.updates}: a fresh process, 30 warm-up then ${r.updates} timed updates on 50 fixed random minibatches of 64 (dX 11, dU 3), hidden 200x200 ReLU, Adam; CPU time ${(r.cpuSecondsPerUpdate * 1000).toFixed(2)} ms/update`);
  }
  let t0: number;

  // 1b. Adam over the NAF networks' weights: the wasm SIMD kernel (what the learners run, their
  // state on a KernelMemory) against the JS loop (the same function on plain arrays).
  const n = (await agent.getState()).tensors.filter((t) => t.name.startsWith('online/')).reduce((a, t) => a + t.data.length, 0);
  const adamNsPerWeight = (kernel: boolean) => {
    const mem = kernel ? KernelMemory.create(4 * alignedFloats(n)) : null;
    const [theta, m, v, g] = Array.from({ length: 4 }, () => (mem ? mem.alloc(n) : new Float32Array(n)));
    const r = new Rng(11);
    for (let i = 0; i < n; i++) { theta[i] = r.normal() * 0.1; g[i] = r.normal() * 0.01; }
    const steps = opts.quick ? 200 : 2000;
    const step = (t: number) => adamStep({ theta, m, v, g, out: { theta, m, v }, start: 0, end: n, t, lr: 1e-3, scale: 1, cfg: ADAM_DEFAULTS });
    for (let k = 1; k <= 50; k++) step(k);
    const s = performance.now();
    for (let k = 1; k <= steps; k++) step(50 + k);
    return ((performance.now() - s) * 1e6) / steps / n;
  };
  const adamHow = (what: string) => `${what}: adamStep (nn/adam.ts) over the ${n} weights of the configured NAF networks in place, 50 warm-up then ${opts.quick ? 200 : 2000} timed steps; ns per weight per step`;
  fig('Adam step per weight, wasm SIMD kernel', adamNsPerWeight(true), 'ns', adamHow('buffers on a KernelMemory (the learners\' path, nn/kernels.wat)'));
  fig('Adam step per weight, JS loop', adamNsPerWeight(false), 'ns', adamHow('plain Float32Arrays (the JS fallback)'));

  // 2. Inference latency for one state.
  const actor = createActor(agent.snapshot());
  const x1 = episodes[0].x[3];
  const lat = (f: () => void, k: number) => { const ts: number[] = []; for (let i = 0; i < k; i++) { const s = performance.now(); f(); ts.push((performance.now() - s) * 1000); } return ts; };
  lat(() => actor.mu(x1), 200);
  const js = lat(() => actor.mu(x1), 5000);
  fig('policy inference p50, plain-JS actor', pct(js, 0.5), 'us', '5000 calls of createActor(snapshot).mu(x) for one state (the control loop path)');
  fig('policy inference p99, plain-JS actor', pct(js, 0.99), 'us', 'same calls, 99th percentile');
  const xs = Float32Array.from(x1);
  lat(() => agent.actBatch(xs, 1), 50);
  const tfl = lat(() => agent.actBatch(xs, 1), 1000);
  fig('policy inference p50, tfjs actBatch(1)', pct(tfl, 0.5), 'us', '1000 calls of agent.actBatch for one state');
  fig('policy inference p99, tfjs actBatch(1)', pct(tfl, 0.99), 'us', 'same calls, 99th percentile');

  // 3. Model refit + iLQG step.
  const tvlg = learner.parts.tvlg;
  const reps = opts.quick ? 3 : 10;
  const fitMs: number[] = [], ilqgMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    t0 = performance.now(); tvlg.fit(episodes); fitMs.push(performance.now() - t0);
    t0 = performance.now();
    ilqgStep({ dynamics: tvlg.params(), rewardExpansion: (x, u) => task.rewardExpansion(x, u), prev: learner.controller, klStep: config.model_based.ilqg_kl_step });
    ilqgMs.push(performance.now() - t0);
  }
  fig('TVLG refit time', pct(fitMs, 0.5), 'ms', `median of ${reps} fits of 5 episodes, T=${task.T}, dX=${task.dX}, dU=${task.dU}, pooled NIW prior`);
  fig('iLQG step time', pct(ilqgMs, 0.5), 'ms', `median of ${reps} KL-constrained iLQG steps (dual search on eta) under that fit`);

  // 4. Imagined transitions/s.
  const Rf = new ReplayBuffer(100000, task.dX, task.dU);
  const starts = Array.from({ length: 10 }, () => { const ep = episodes[rng.int(5)]; const t = rng.int(task.T - 10); return { x: ep.x[t], t }; });
  t0 = performance.now();
  let made = 0;
  const rounds = opts.quick ? 20 : 100;
  for (let i = 0; i < rounds; i++) made += imagine({ model: tvlg, agent, task, starts, l: config.model_based.imagination_length, noiseSigma: 0.3, rng, Rf });
  fig('imagined transitions/s (tvlg)', made / ((performance.now() - t0) / 1000), 'transitions/s', `${rounds} rounds of 10 rollouts x l=${config.model_based.imagination_length} under the current policy + noise (batched tfjs actions, sampled TVLG steps)`);

  parts.agent.dispose();
  parts.arm.dispose();
  out.push(...await jitterFigures(params, opts));
  return out;
}

/**
 * The learner in real time: the in-process node + bridge at the config's control rate
 * with imagination length l in `ls` (I as configured), `seconds` each, with the node's real-time
 * setup at the configured `ros.rt_priority` where permitted (`jitter.ts`): shed fraction, updates/s
 * made and jitter p99 per l — the largest l with no shedding is what this machine sustains.
 */
export async function realtimeSweep(params: unknown, ls: number[], seconds: number): Promise<{ l: number; shedFraction: number; updatesPerS: number; p99Ms: number; episodes: number; scheduling: string }[]> {
  const config = parseConfig(params, 'bench');
  const rows = [];
  for (const l of ls) {
    const p = params as Record<string, Record<string, unknown>>;
    const j = await nodeJitter({ ...p, model_based: { ...(p.model_based ?? {}), imagination_length: l } }, seconds, config.ros.rt_priority);
    rows.push({ l, shedFraction: j.shedFraction, updatesPerS: j.updates / seconds, p99Ms: j.p99 * 1000, episodes: j.episodes, scheduling: j.scheduling });
  }
  return rows;
}

/**
 * Control-loop jitter figures: in-process (always) and over real DDS where rclnodejs loads, each
 * with the configured `ros.rt_priority` (the node's real-time setup, where permitted) and with
 * normal scheduling. `npm run bench -- --jitter` runs only these.
 */
export async function jitterFigures(params: unknown, opts: { quick: boolean }): Promise<Figure[]> {
  const config = parseConfig(params, 'bench');
  const backend = tf.getBackend();
  const cores = cpus().length;
  const out: Figure[] = [];
  const fig = (name: string, value: number, unit: string, method: string) => out.push({ name, value, unit, method, backend, cores });
  // 5. Control-loop jitter of the node (in-process transport, real time, learner in its worker).
  const secs = opts.quick ? 15 : 60;
  for (const rt of [...new Set([config.ros.rt_priority, 0])]) {
    if (rt === 0 && out.some((f) => f.name.endsWith('in-process, normal scheduling'))) continue; // the real-time setup was not permitted: that run was the normal one
    const j = await nodeJitter(params, secs, rt);
    const how = `naf_trainer at ${config.control_rate_hz} Hz + MuJoCo sim bridge on the in-process bus driven in real time for ${secs} s, learner in its worker thread (learner_threads ${config.agent.learner_threads}, nice ${config.ros.learner_nice}, I = ${config.agent.updates_per_step}, l = ${config.model_based.imagination_length}; ${j.episodes} episodes, ${j.updates} updates made, ${j.shedUpdates} shed by the learner's real-time policy); ${j.scheduling}; |callback interval - period| over the last ${j.n} periods`;
    const tag = j.realtime ? `in-process, rt_priority ${rt}` : 'in-process, normal scheduling';
    fig(`control-loop jitter mean ${tag}`, j.mean * 1000, 'ms', how);
    fig(`control-loop jitter p99 ${tag}`, j.p99 * 1000, 'ms', how);
    fig(`control-loop jitter max ${tag}`, j.max * 1000, 'ms', how);
    fig(`learner shed fraction (real time) ${tag}`, j.shedFraction, 'fraction', how);
  }

  // 6. The same over real DDS (the two processes of mujoco.launch.py), where rclnodejs loads.
  const why = await ddsAvailable();
  if (why) {
    console.log(`[bench] control-loop jitter over DDS skipped: ${why}`);
  } else {
    // With the configured real-time priority (when there is one) and with normal scheduling.
    for (const rt of [...new Set([config.ros.rt_priority, 0])]) {
      const p = params as Record<string, Record<string, unknown>>;
      const d = await ddsJitter({ ...p, ros: { ...(p.ros ?? {}), rt_priority: rt } }, opts.quick ? 25 : 60);
      const sched = rt > 0 ? `SCHED_FIFO ${rt} (ros.rt_priority) but the learner` : 'normal scheduling (ros.rt_priority 0)';
      const dhow = `naf_trainer (sim time, learner training in its thread at nice ${config.ros.learner_nice}) + naf_sim_bridge (MuJoCo, 100 Hz /clock) as two processes over DDS ` +
        `(${process.env.RMW_IMPLEMENTATION ?? 'default RMW'}), both at ${sched}, after 20 s warm-up; |callback interval - period| over the last ${d.n} periods (${d.episodes} episodes); ` +
        `medians over ${d.windows} 1 s windows: event-loop delay p99 ${d.eventLoopDelayP99Ms.toFixed(2)} ms, shed fraction ${d.shedFraction.toFixed(2)}, ` +
        `${d.updatesPerS.toFixed(0)} updates/s, checkpoint write ${d.checkpointMs.toFixed(0)} ms; GC pause max ${d.gcPauseMaxMs.toFixed(1)} ms`;
      const tag = rt > 0 ? `over DDS, rt_priority ${rt}` : 'over DDS, normal scheduling';
      fig(`control-loop jitter mean ${tag}`, d.mean * 1000, 'ms', dhow);
      fig(`control-loop jitter p99 ${tag}`, d.p99 * 1000, 'ms', dhow);
      fig(`control-loop jitter max ${tag}`, d.max * 1000, 'ms', dhow);
    }
  }
  return out;
}

/**
 * Soak: trains with the trainer's own episode loop (`Trainer.trainEpisode`: policy refresh,
 * learner, metrics file) on the embedded arm for `steps` environment steps, sampling tfjs tensor
 * count, heap and RSS every `every` steps. Returns the samples.
 */
export async function soak(params: unknown, steps: number, every: number): Promise<{ step: number; tensors: number; heapMB: number; rssMB: number; replay: number }[]> {
  const config = parseConfig(params, 'soak');
  const trainer = await Trainer.create(config, join(mkdtempSync(join(tmpdir(), 'naf-soak-')), 'run'), silentLogger());
  const { learner, task } = trainer.parts;
  const samples = [];
  for (let step = 0; step < steps; ) {
    await trainer.trainEpisode();
    step += task.T;
    if (step % every < task.T) {
      const m = process.memoryUsage();
      samples.push({ step, tensors: tf.memory().numTensors, heapMB: m.heapUsed / 2 ** 20, rssMB: m.rss / 2 ** 20, replay: learner.R.size });
    }
  }
  trainer.dispose();
  return samples;
}
