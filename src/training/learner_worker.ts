/**
 * worker_threads entry of `WorkerLearnerClient`: a `LearnerSession` driven by messages, so that
 * NAF updates, model refits, iLQG and imagination never block the node's control timer.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { NafConfig } from '../config/schema.js';
import { LearnerSession } from './learner_session.js';

/**
 * Lowers this thread's scheduling priority (Linux: nice is per thread; /proc/thread-self names
 * this thread's id), so that on a loaded CPU the control thread and DDS run first and the
 * learner takes what is left. Returns what was done, for the node's log.
 */
function lowerPriority(nice: number): { priority: string; tid: number | null } {
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

const port = parentPort!;
try {
  const config = workerData.config as NafConfig;
  const { priority, tid } = lowerPriority(config.ros.learner_nice);
  const session = await LearnerSession.create(config, workerData.runDir);
  session.emit = (m) => port.postMessage(m);
  port.on('message', async (m: { type: string; tr?: never; info?: never; sentAt?: number }) => {
    switch (m.type) {
      case 'observe': session.observe(m.tr!, m.sentAt); break;
      case 'endEpisode': session.endEpisode(m.info!); break;
      case 'publish': session.publishAll(); break;
      case 'save':
        try { port.postMessage({ type: 'saved', path: await session.save() }); }
        catch (e) { port.postMessage({ type: 'save-failed', error: (e as Error).message }); }
        break;
      case 'close': session.dispose(); port.close(); break;
    }
  });
  port.postMessage({ type: 'ready', resumed: session.resumed, priority, tid });
} catch (e) {
  port.postMessage({ type: 'start-failed', error: (e as Error).stack ?? String(e) });
}
