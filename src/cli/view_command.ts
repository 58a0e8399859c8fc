/**
 * `naf-ros view <run folder | checkpoint | file.mcap>`: replays recorded episodes of the arm in a
 * local 3-D page (src/viz/page), served on 127.0.0.1 only; prints the URL and opens nothing.
 *
 * What it shows: a `.mcap` file as recorded (`naf-ros eval --record`, `naf-ros run --record`, or a
 * ROS 2 bag with /joint_states and /robot_description); a run folder's `test_final.mcap` (the
 * held-out test of its final policy, written by `naf-ros train`); for a checkpoint (or a run
 * folder without a recording), its greedy policy is run on the held-out test starts now, as
 * `naf-ros eval` does, and that is shown (not saved).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isRunFolder, RUN_FILES } from '../report/run_folder.js';
import { NAF_ROS } from './command_hint.js';
import { readRolloutMcap } from '../viz/mcap_read.js';
import type { Rollout } from '../viz/rollout.js';
import { viewAssets } from '../viz/view_data.js';
import { startViewServer, type ViewServer } from '../viz/view_server.js';

export interface ViewOptions {
  /** TCP port on 127.0.0.1 (default: any free one). */
  port?: number;
  /** Held-out episodes and seed when a checkpoint is run (default: the run's test_episodes, test_seed). */
  episodes?: number;
  seed?: number;
}

/**
 * The rollout `arg` names, and where it came from (one line).
 * @throws RolloutFileError (an unreadable .mcap), CheckpointError (no checkpoint there)
 */
export async function rolloutOf(arg: string, opts: Pick<ViewOptions, 'episodes' | 'seed'> = {}): Promise<{ rollout: Rollout; origin: string }> {
  const isFile = existsSync(arg) && statSync(arg).isFile();
  if (isFile && arg.toLowerCase().endsWith('.mcap')) return { rollout: await readRolloutMcap(arg), origin: arg };
  const recorded = join(arg, RUN_FILES.testRollout);
  if (!isFile && isRunFolder(arg) && existsSync(recorded) && opts.episodes === undefined && opts.seed === undefined)
    return { rollout: await readRolloutMcap(recorded), origin: recorded };
  const { evaluateCheckpoint } = await import('../training/eval_command.js');
  const r = await evaluateCheckpoint(arg, { episodes: opts.episodes, seed: opts.seed, record: true });
  return { rollout: r.rollout!, origin: `${r.checkpoint}: greedy policy run now on ${r.episodes} held-out starts (seed ${r.seed}; not saved — ${NAF_ROS} eval --record <file.mcap> saves them)` };
}

/**
 * Serves the replay page of `arg` until `stop` resolves (default: Ctrl-C).
 * @returns the server (already closed when this resolves).
 */
export async function viewCommand(arg: string, opts: ViewOptions = {}, out: (line: string) => void = console.log, stop?: Promise<void>): Promise<ViewServer> {
  const { rollout, origin } = await rolloutOf(arg, opts);
  const assets = viewAssets(rollout);
  const server = await startViewServer(assets, { port: opts.port });
  const { missing } = assets.data.meshes;
  out(`naf-ros view: ${assets.data.episodes.length} episodes from ${origin}`);
  if (assets.data.meshes.served || missing.length)
    out(`meshes: ${assets.data.meshes.served} served${missing.length ? `, ${missing.length} not shown (${missing.slice(0, 3).map((m) => `${m.filename}: ${m.reason}`).join('; ')}${missing.length > 3 ? '; …' : ''}); the links' frames are drawn as lines` : ''}`);
  out(`open ${server.url} in a browser (listening on 127.0.0.1 only; from another machine: ssh -L ${server.port}:127.0.0.1:${server.port} <this host>). Ctrl-C stops.`);
  await (stop ?? new Promise<void>((ok) => process.once('SIGINT', () => ok())));
  await server.close();
  return server;
}
