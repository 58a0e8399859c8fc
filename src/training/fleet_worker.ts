/**
 * worker_threads entry of `WorkerFleetClient`: a `FleetLearner` driven by messages, so that NAF
 * updates, model refits, iLQG and imagination never block the learner node's executor.
 * Requests carry an id; their results come back as `{ type: 'reply', id, value | error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NafConfig } from '../config/schema.js';
import { FleetLearner, type FleetEpisode } from './fleet_learner.js';
import { lowerPriority } from './worker_priority.js';

const port = parentPort!;
try {
  const config = workerData.config as NafConfig;
  const { priority, tid } = lowerPriority(config.ros.learner_nice);
  const learner = await FleetLearner.create(config, workerData.runDir);
  learner.emit = (m) => port.postMessage(m);
  // The owner's stop flag (`WorkerFleetClient.close`), set before 'close' is posted: episodes still
  // queued in this port are then taken without updates, so none is lost and the stop is quick.
  const stop = new Int32Array(workerData.stop as SharedArrayBuffer);
  learner.stopRequested = () => Atomics.load(stop, 0) === 1;
  const reply = (id: number, p: Promise<unknown>) => p.then(
    (value) => port.postMessage({ type: 'reply', id, value }),
    (e: Error) => port.postMessage({ type: 'reply', id, error: e.message }),
  );
  port.on('message', (m: { type: string; id: number; ep?: FleetEpisode; receivedAt?: number }) => {
    switch (m.type) {
      case 'episode': void reply(m.id, learner.ingest(m.ep!, m.receivedAt)); break;
      case 'publish': learner.publishAll(); break;
      case 'save': void reply(m.id, learner.save()); break;
      // the run folder's summary and curve are rebuilt before the thread ends
      case 'close': void learner.close().then(() => port.close()); break;
    }
  });
  port.postMessage({ type: 'ready', resumed: learner.resumed, priority, tid, info: learner.policyInfo() });
} catch (e) {
  port.postMessage({ type: 'start-failed', error: (e as Error).stack ?? String(e) });
}
