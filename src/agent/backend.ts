/**
 * Picks the tfjs backend once per process: `tensorflow` (native libtensorflow via the optional
 * `@tensorflow/tfjs-node`) > `wasm` (`@tensorflow/tfjs-backend-wasm`, ships its own binary) > `cpu`
 * (plain JS, ~5x slower than wasm for a NAF update on this machine; DESIGN.md Sec. 2).
 *
 * All agent code imports `* as tf from '@tensorflow/tfjs'`; this module only chooses where its
 * kernels run. The caller logs the result (`name` and every failed attempt in `tried`).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Outcome of `initBackend`: the backend in use and every attempt in order (error text if it failed). */
export interface BackendInfo {
  name: string;
  tried: { name: BackendName; error?: string }[];
}

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let chosen: Promise<BackendInfo> | null = null;

/**
 * Selects and initialises the fastest backend that loads.
 *
 * Order: `prefer` first (if given), then tensorflow > wasm > cpu. A backend that throws on import
 * or whose `tf.setBackend` returns false is recorded in `tried` with its error and skipped.
 * Idempotent: the first call decides; later calls return the same result (their `prefer` is
 * ignored, because tfjs tensors cannot move between backends mid-run).
 *
 * wasm in Node: the `.wasm` binaries are located with `setWasmPaths(<dir>/)`, where `<dir>` is the
 * package's `dist` folder resolved through `createRequire(import.meta.url)` (a plain absolute path
 * with a trailing `/`, not a `file://` URL; checked with tfjs 4.22 on Node 20).
 *
 * @throws Error when even the cpu backend cannot be set (a broken tfjs install).
 */
export function initBackend(prefer?: BackendName): Promise<BackendInfo> {
  if (prefer !== undefined && !ORDER.includes(prefer)) {
    return Promise.reject(new Error(`initBackend: prefer must be one of ${ORDER.join(', ')}, got ${String(prefer)}`));
  }
  if (!chosen) chosen = choose(prefer);
  return chosen;
}

async function choose(prefer?: BackendName): Promise<BackendInfo> {
  const order = prefer ? [prefer, ...ORDER.filter((n) => n !== prefer)] : [...ORDER];
  const tried: BackendInfo['tried'] = [];
  for (const name of order) {
    const before = processListeners();
    try {
      await LOADERS[name]();
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      tried.push({ name });
      return { name: tf.getBackend(), tried };
    } catch (e) {
      tried.push({ name, error: e instanceof Error ? e.message : String(e) });
    } finally {
      removeAddedListeners(before);
    }
  }
  throw new Error(`initBackend: no tfjs backend could be initialised: ${JSON.stringify(tried)}`);
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
