import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/agent/backend.js';

function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('initBackend: tensorflow > wasm > cpu, failures recorded, idempotent', async () => {
  const info = await initBackend();
  assert.equal(info.name, tf.getBackend());
  const last = info.tried[info.tried.length - 1];
  assert.equal(last.name, info.name);
  assert.equal(last.error, undefined);
  for (const t of info.tried.slice(0, -1)) assert.ok(t.error, `${t.name} was skipped without a reason`);
  assert.deepEqual(info.tried.map((t) => t.name), ['tensorflow', 'wasm', 'cpu'].slice(0, info.tried.length));
  if (!resolvable('@tensorflow/tfjs-node')) {
    // this build machine: the optional native package is absent, wasm must load
    assert.match(info.tried[0].error!, /tfjs-node/);
    assert.equal(info.name, 'wasm');
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

test('initBackend: an unknown preference is rejected with the allowed names', async () => {
  await assert.rejects(initBackend('webgpu' as never), /prefer must be one of tensorflow, wasm, cpu/);
});
