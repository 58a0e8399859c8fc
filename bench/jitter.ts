/**
 * Control-loop jitter of naf_trainer over the in-process transport, in real time: the sim bridge
 * (MuJoCo) and the trainer node share one bus driven by a drift-free 10 ms wall-clock scheduler,
 * and the learner trains in its worker thread (as in production). The node's own JitterMeter
 * measures |interval between control callbacks - period| on the steady clock; the learner's stats
 * give the updates made and shed (shed fraction = shed / (made + shed), cumulative).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessSystem } from '../src/ros/inprocess_system.js';
import { WorkerLearnerClient } from '../src/training/learner_client.js';
import { silentLogger } from '../src/util/logger.js';

export async function nodeJitter(params: unknown, seconds: number): Promise<{ mean: number; p99: number; max: number; n: number; episodes: number; skippedSteps: number; updates: number; shedUpdates: number; shedFraction: number }> {
  const sys = await createInProcessSystem(params, (config) => WorkerLearnerClient.create(config, mkdtempSync(join(tmpdir(), 'naf-jitter-'))), silentLogger(), {
    steadyNow: () => performance.now() / 1000,
  });
  let last: { skippedSteps: number; updates: number; shedUpdates: number } = { skippedSteps: 0, updates: 0, shedUpdates: 0 };
  sys.learner.onStats((s) => { last = s; });
  const t0 = performance.now();
  for (let k = 1; performance.now() - t0 < seconds * 1000; k++) {
    sys.bus.advance(0.01);
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * 10 - performance.now())));
  }
  const stats = sys.trainer.jitter.stats();
  const episodes = sys.trainer.completed;
  await sys.close();
  const { skippedSteps, updates, shedUpdates } = last;
  return { ...stats, episodes, skippedSteps, updates, shedUpdates, shedFraction: updates + shedUpdates > 0 ? shedUpdates / (updates + shedUpdates) : 0 };
}
