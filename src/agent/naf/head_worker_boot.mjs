// Entry of the NAF head worker thread: registers tsx (the TypeScript loader) in this thread, then
// runs head_worker.ts. (Node 20 does not apply `--import` from a Worker's execArgv.)
import { register } from 'tsx/esm/api';

register();
await import('./head_worker.ts');
