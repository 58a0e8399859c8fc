/**
 * Scheduling of a learner worker thread (`learner_worker.ts`, `fleet_worker.ts`): Linux niceness
 * per thread (`ros.learner_nice`).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers this thread's scheduling priority (Linux: nice is per thread; /proc/thread-self names
 * this thread's id), so that on a loaded CPU the control thread and DDS run first and the
 * learner takes what is left. Returns what was done, for the node's log.
 */
export function lowerPriority(nice: number): { priority: string; tid: number | null } {
  let tid: number | null = null;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch { /* not Linux */ }
  if (nice === 0) return { priority: 'learner thread at normal priority (ros.learner_nice 0)', tid };
  try {
    if (tid === null) throw new Error('no /proc/thread-self');
    setPriority(tid, nice);
    return { priority: `learner thread ${tid} at nice ${nice} (ros.learner_nice)`, tid };
  } catch (e) {
    return { priority: `learner thread priority unchanged: ${(e as Error).message.split('\n')[0]} (ros.learner_nice ${nice} needs Linux)`, tid };
  }
}
