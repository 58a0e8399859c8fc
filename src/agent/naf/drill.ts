/**
 * A head-worker fault drill on a real run: `NAF_ROS_DRILL_HEAD_WORKER=<kind>@<update>` makes the
 * NAF head worker (`agent.learner_threads: 2`) fail once, at the first update numbered `update` or
 * later — `throw` (an exception in its step), `exit` (the thread dies) or `stall` (no answer: the
 * calling thread gives up after its timeout, 30 s) — so that an operator can watch the learner
 * settle the failure on a running node (undo the step, redo it on one thread, restart the worker,
 * log it, count it in /diagnostics) and keep learning. The fault fires in the middle of the
 * worker's step (before its second acknowledgement, `parallel.ts`). Unset (production), nothing
 * is armed and the worker never reads its fault slots.
 */
import type { HeadWorkerFault } from './parallel.js';

/** The environment variable of the drill. */
export const DRILL_ENV = 'NAF_ROS_DRILL_HEAD_WORKER';

export interface WorkerDrill { fault: HeadWorkerFault; atUpdate: number }

/**
 * Parses the drill's value (module doc).
 * @returns null when unset or empty
 * @throws Error naming the variable, the form it takes and what was given
 */
export function parseWorkerDrill(value: string | undefined): WorkerDrill | null {
  if (value === undefined || value.trim() === '') return null;
  const m = /^(throw|exit|stall)@(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`${DRILL_ENV}: expected <throw|exit|stall>@<update number>, e.g. exit@2000; got "${value}"`);
  return { fault: { kind: m[1] as 'throw' | 'exit' | 'stall', phase: 2 }, atUpdate: Number(m[2]) };
}
