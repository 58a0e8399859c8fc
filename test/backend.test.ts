import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend, initBackend, type BackendName } from '../src/agent/backend.js';

function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('initBackend (auto): tensorflow and wasm both tried, failures recorded, wasm without a probe, idempotent', async () => {
  const info = await initBackend();
  assert.equal(info.name, tf.getBackend());
  assert.deepEqual(info.tried.slice(0, 2).map((t) => t.name), ['tensorflow', 'wasm']);
  for (const t of info.tried) assert.ok(t.name === info.name || t.error || t.name === 'tensorflow', `${t.name} was skipped without a reason`);
  if (!resolvable('@tensorflow/tfjs-node')) {
    // this build machine: the optional native package is absent, wasm must load
    assert.match(info.tried[0].error!, /tfjs-node/);
    assert.equal(info.name, 'wasm');
    assert.equal(info.probe, undefined, 'one backend loaded: nothing to compare');
  }
  // idempotent: the same result object, whatever is preferred later
  assert.equal(await initBackend('cpu'), info);
  assert.equal(tf.getBackend(), info.name);
  // the wasm runtime's rethrowing process handlers are removed (Node's defaults print errors plainly)
  for (const e of ['uncaughtException', 'unhandledRejection'] as const) {
    assert.ok(!process.listeners(e as 'uncaughtException').some((l) => /ExitStatus|throw reason/.test(String(l))), `${e} handler left by ${info.name}`);
  }
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(y, 11);
});

test('chooseBackend: with two backends loaded the probe decides, and its timings are reported', async () => {
  const calls: BackendName[] = [];
  const fake = (slow: BackendName) => (name: BackendName) => {
    calls.push(name);
    assert.equal(tf.getBackend(), name, 'the probe runs on the backend it measures');
    return name === slow ? 9 : 3;
  };
  const a = await chooseBackend({ candidates: ['wasm', 'cpu'], probe: fake('wasm') });
  assert.equal(a.name, 'cpu');
  assert.deepEqual(a.probe, [{ name: 'wasm', msPerUpdate: 9 }, { name: 'cpu', msPerUpdate: 3 }]);
  const b = await chooseBackend({ candidates: ['wasm', 'cpu'], probe: fake('cpu') });
  assert.equal(b.name, 'wasm');
  assert.deepEqual(calls, ['wasm', 'cpu', 'wasm', 'cpu']);
  const c = await chooseBackend({ candidates: ['wasm', 'cpu'] });
  assert.equal(c.name, 'wasm', 'no probe: wasm first');
  assert.equal(tf.getBackend(), 'wasm');
});

test('initBackend: an unknown preference is rejected with the allowed names', async () => {
  await assert.rejects(initBackend('webgpu' as never), /prefer must be one of tensorflow, wasm, cpu/);
});
