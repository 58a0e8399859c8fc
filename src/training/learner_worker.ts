/**
 * worker_threads entry of `WorkerLearnerClient`: a `LearnerSession` driven by messages, so that
 * NAF updates, model refits, iLQG and imagination never block the node's control timer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NafConfig } from '../config/schema.js';
import { LearnerSession } from './learner_session.js';
import { lowerPriority } from './worker_priority.js';
import type { EvalRecord } from '../report/run_folder.js';

const port = parentPort!;
try {
  const config = workerData.config as NafConfig;
  const { priority, tid } = lowerPriority(config.ros.learner_nice);
  const session = await LearnerSession.create(config, workerData.runDir);
  session.emit = (m) => port.postMessage(m);
  port.on('message', async (m: { type: string; tr?: never; info?: never; sentAt?: number; record?: EvalRecord }) => {
    switch (m.type) {
      case 'observe': session.observe(m.tr!, m.sentAt); break;
      case 'endEpisode': session.endEpisode(m.info!); break;
      case 'publish': session.publishAll(); break;
      case 'greedy': port.postMessage({ type: 'greedy', snapshot: session.greedySnapshot() }); break;
      case 'evaluation': session.recordEvaluation(m.record!); break;
      case 'save':
        try { port.postMessage({ type: 'saved', path: await session.save() }); }
        catch (e) { port.postMessage({ type: 'save-failed', error: (e as Error).message }); }
        break;
      // the run folder's summary and curve are rebuilt before the thread ends
      case 'close': await session.close(); port.close(); break;
    }
  });
  // The agent's own worker threads (NAF's head worker) were started from this thread and share its
  // scheduling; the node's real-time setup must leave them alone too.
  const tids = [tid, ...session.parts.agent.helperThreadIds()].filter((t): t is number => t !== null);
  port.postMessage({ type: 'ready', resumed: session.resumed, priority, tid, tids });
} catch (e) {
  port.postMessage({ type: 'start-failed', error: (e as Error).stack ?? String(e) });
}
