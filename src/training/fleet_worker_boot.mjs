// Entry of the fleet learner's worker thread: registers tsx (the TypeScript loader) in this
// thread, then runs fleet_worker.ts. (Node 20 does not apply `--import` from a Worker's execArgv.)
import { register } from 'tsx/esm/api';

register();
await import('./fleet_worker.ts');
