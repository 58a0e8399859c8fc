/**
 * The plain line that says which tfjs backend runs (`naf-ros train`, `eval`, `run`), and, when
 * the optional native backend is missing, that it is optional and how to get it — instead of the
 * loader's "Cannot find package '@tensorflow/tfjs-node'".
 */
import type { BackendInfo } from '../agent/backend.js';

const WHAT: Record<string, string> = {
  tensorflow: 'native TensorFlow through @tensorflow/tfjs-node',
  wasm: 'WebAssembly',
  cpu: 'plain JavaScript, the slowest',
};

/** One line for `info` (the result of `initBackend`). */
export function backendLine(info: BackendInfo): string {
  const head = `tfjs backend: ${info.name} (${WHAT[info.name] ?? info.name})`;
  if (info.name === 'tensorflow') return head;
  const native = info.tried.find((t) => t.name === 'tensorflow');
  let why = '';
  if (native?.error) {
    why = /Cannot find (package|module)/.test(native.error)
      ? '; the optional native backend is not installed (not needed; to try it: npm install @tensorflow/tfjs-node)'
      : `; the native backend @tensorflow/tfjs-node is installed but did not load (${native.error.split('\n')[0].slice(0, 120)})`;
  }
  const wasm = info.tried.find((t) => t.name === 'wasm');
  if (info.name === 'cpu' && wasm?.error) why += `; wasm did not load (${wasm.error.split('\n')[0].slice(0, 120)})`;
  return head + why;
}
