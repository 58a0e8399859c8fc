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
function lowerPriority(nice: number): string {
  if (nice === 0) return 'learner thread at normal priority (ros.learner_nice 0)';
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, nice);
    return `learner thread ${tid} at nice ${nice} (ros.learner_nice)`;
  } catch (e) {
    return `learner thread priority unchanged: ${(e as Error).message.split('\n')[0]} (ros.learner_nice ${nice} needs Linux)`;
  }
}

const port = parentPort!;
try {
  const config = workerData.config as NafConfig;
  const priority = lowerPriority(config.ros.learner_nice);
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
  port.postMessage({ type: 'ready', resumed: session.resumed, priority });
} catch (e) {
  port.postMessage({ type: 'start-failed', error: (e as Error).stack ?? String(e) });
}
