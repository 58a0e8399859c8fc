/**
 * Control-loop jitter of naf_trainer over the in-process transport, in real time: the sim bridge
 * (MuJoCo) and the trainer node share one bus driven by a drift-free 10 ms wall-clock scheduler,
 * and the learner trains in its worker thread (as in production). The node's own JitterMeter
 * measures |interval between control callbacks - period| on the steady clock; the learner's stats
 * give the updates made and shed (shed fraction = shed / (made + shed), cumulative).
 *
 * Scheduling: with `rtPriority` > 0 the process gets the node's own real-time setup
 * (`src/ros/process/realtime.ts`, what `naf_trainer` does with `ros.rt_priority`: SCHED_FIFO for the
 * control thread, the learner's threads and Node's helper threads at normal scheduling) for the
 * measurement, and normal scheduling again afterwards. Where that is not permitted (no
 * CAP_SYS_NICE or rtprio limit) the run measures normal scheduling and says so in `scheduling`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessSystem } from '../src/ros/sim/inprocess_system.js';
import { applyRealtime } from '../src/ros/process/realtime.js';
import { WorkerLearnerClient } from '../src/training/learner_client.js';
import { silentLogger } from '../src/util/logger.js';

export interface NodeJitter {
  /** |interval - period| statistics, s */
  mean: number; p99: number; max: number; n: number;
  episodes: number; skippedSteps: number; updates: number; shedUpdates: number; shedFraction: number;
  /** true when the node's real-time setup was applied for the run */
  realtime: boolean;
  /** how the threads were scheduled (the real-time setup's message, or why it was not applied) */
  scheduling: string;
}

export async function nodeJitter(params: unknown, seconds: number, rtPriority = 0): Promise<NodeJitter> {
  let learner: WorkerLearnerClient | null = null;
  const sys = await createInProcessSystem(params, async (config) => (learner = await WorkerLearnerClient.create(config, mkdtempSync(join(tmpdir(), 'naf-jitter-')))), silentLogger(), {
    steadyNow: () => performance.now() / 1000,
  });
  const rt = rtPriority > 0 ? applyRealtime(rtPriority, learner!.tids, 'rt_priority') : null;
  const realtime = rt?.ok === true;
  const scheduling = rt === null ? 'normal scheduling (rt_priority 0)' : rt.ok ? rt.message : `normal scheduling: ${rt.message}`;
  try {
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
    return { ...stats, episodes, skippedSteps, updates, shedUpdates, shedFraction: updates + shedUpdates > 0 ? shedUpdates / (updates + shedUpdates) : 0, realtime, scheduling };
  } finally {
    // The bench goes on with other work in this process: every thread back to normal scheduling.
    if (realtime) execFileSync('chrt', ['-a', '-o', '-p', '0', String(process.pid)], { stdio: 'ignore' });
  }
}
