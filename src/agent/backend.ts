/**
 * Picks the tfjs backend once per process. All agent code imports `* as tf from '@tensorflow/tfjs'`;
 * this module only chooses where its kernels run. The caller logs the result.
 *
 * The rule for `auto`: by speed on the configured network, not by a fixed order. The
 * native backend (`tensorflow`, the optional `@tensorflow/tfjs-node`) was measured *slower* than
 * `wasm` on the NAF update (0.47x with tfjs 4.22 and TF 2.21; its per-kernel dispatch costs more),
 * while a big network may favour it. So both are loaded when they can be, and when both load a
 * short timed probe of the caller's update (`probe`, ms per update) decides; the timings are in
 * the result. Without both, or without a probe: wasm, else tensorflow, else `cpu` (plain JS, ~5x
 * slower than wasm here; DESIGN.md Sec. 2).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Outcome of `initBackend`: the backend in use, every attempt in order (error text if it failed), the probe's timings. */
export interface BackendInfo {
  name: string;
  tried: { name: BackendName; error?: string }[];
  /** ms per update of the caller's probe on each backend that loaded, when it ran */
  probe?: { name: BackendName; msPerUpdate: number }[];
}

/** Timed probe: ms per update of the caller's workload with `name` as the current backend. */
export type BackendProbe = (name: BackendName) => number;

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let chosen: Promise<BackendInfo> | null = null;

/**
 * Selects and initialises the backend (module docstring).
 *
 * `prefer` given: that one, falling back to wasm > tensorflow > cpu when it does not load. Not given
 * (`auto`): tensorflow and wasm are both tried; the faster by `probe` wins when both load.
 * A backend that throws on import or whose `tf.setBackend` returns false is recorded in `tried`
 * with its error. Idempotent: the first call decides; later calls return the same result (their
 * arguments are ignored, because tfjs tensors cannot move between backends mid-run).
 *
 * wasm in Node: the `.wasm` binaries are located with `setWasmPaths(<dir>/)`, where `<dir>` is the
 * package's `dist` folder resolved through `createRequire(import.meta.url)` (a plain absolute path
 * with a trailing `/`, not a `file://` URL; checked with tfjs 4.22 on Node 20). Its multi-threaded
 * build is not used: tfjs 4.22 switches it off in Node (tfjs issue #3830), and forcing it fails
 * (its pthread workers are started from `blob:` URLs, which Node's worker_threads refuse).
 *
 * @throws Error when even the cpu backend cannot be set (a broken tfjs install).
 */
export function initBackend(prefer?: BackendName, probe?: BackendProbe): Promise<BackendInfo> {
  if (prefer !== undefined && !ORDER.includes(prefer)) {
    return Promise.reject(new Error(`initBackend: prefer must be one of ${ORDER.join(', ')}, got ${String(prefer)}`));
  }
  if (!chosen) chosen = prefer ? firstThatLoads([prefer, ...FALLBACK.filter((n) => n !== prefer)]) : chooseBackend({ candidates: ['tensorflow', 'wasm'], probe });
  return chosen;
}

const FALLBACK: readonly BackendName[] = ['wasm', 'tensorflow', 'cpu'];

/**
 * The `auto` rule, uncached (exported for tests): loads every candidate; with two or more loaded
 * and a probe, the fastest by the probe wins; otherwise the first loaded in wasm > tensorflow >
 * cpu order; cpu when no candidate loads.
 */
export async function chooseBackend(o: { candidates: BackendName[]; probe?: BackendProbe }): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = [];
  const loaded: BackendName[] = [];
  for (const name of o.candidates) {
    const error = await load(name);
    tried.push(error ? { name, error } : { name });
    if (!error) loaded.push(name);
  }
  if (loaded.length === 0) {
    const error = await load('cpu');
    tried.push(error ? { name: 'cpu', error } : { name: 'cpu' });
    if (error) throw new Error(`initBackend: no tfjs backend could be initialised: ${JSON.stringify(tried)}`);
    loaded.push('cpu');
  }
  let pick = FALLBACK.find((n) => loaded.includes(n))!;
  let probe: BackendInfo['probe'];
  if (o.probe && loaded.length > 1) {
    probe = [];
    for (const name of loaded) {
      await tf.setBackend(name);
      probe.push({ name, msPerUpdate: o.probe(name) });
    }
    pick = probe.reduce((a, b) => (b.msPerUpdate < a.msPerUpdate ? b : a)).name;
  }
  await tf.setBackend(pick);
  await tf.ready();
  return { name: tf.getBackend(), tried, ...(probe ? { probe } : {}) };
}

/** Tries `order` in turn; the first that loads is set. */
async function firstThatLoads(order: BackendName[]): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = [];
  for (const name of order) {
    const error = await load(name);
    tried.push(error ? { name, error } : { name });
    if (!error) {
      await tf.setBackend(name);
      return { name: tf.getBackend(), tried };
    }
  }
  throw new Error(`initBackend: no tfjs backend could be initialised: ${JSON.stringify(tried)}`);
}

/** Loads and initialises one backend (it stays registered); returns the error text, or null. */
async function load(name: BackendName): Promise<string | null> {
  const before = processListeners();
  try {
    await LOADERS[name]();
    if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
    await tf.ready();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    removeAddedListeners(before);
  }
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

/** `process` as a plain EventEmitter (its typed overloads do not accept an event-name union). */
const emitter = process as unknown as NodeJS.EventEmitter;

function processListeners(): Map<ProcessEvent, Function[]> {
  return new Map(EVENTS.map((e) => [e, emitter.listeners(e)]));
}

/**
 * The Emscripten runtime of the wasm backend installs `uncaughtException` / `unhandledRejection`
 * handlers that only rethrow; Node then prints the whole minified module (~30 kB on one line)
 * instead of the error. Node's own default (print the error, exit) is the same behaviour without
 * the noise, so handlers added while a backend initialises are removed.
 */
function removeAddedListeners(before: Map<ProcessEvent, Function[]>): void {
  for (const e of EVENTS) {
    for (const l of emitter.listeners(e)) {
      if (!before.get(e)!.includes(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
    }
  }
}

const LOADERS: Record<BackendName, () => Promise<void>> = {
  async tensorflow() {
    // A variable specifier keeps TypeScript from requiring the optional package's typings.
    const spec = '@tensorflow/tfjs-node';
    await import(spec);
  },
  async wasm() {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(main) + path.sep);
  },
  async cpu() {
    // registered by '@tensorflow/tfjs' itself
  },
};
