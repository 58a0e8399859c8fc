/**
 * `ros.rt_priority` (realtime.ts): SCHED_FIFO for every thread of the process but the learner,
 * through util-linux chrt; a refusal (no CAP_SYS_NICE) is reported, not fatal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRealtime } from '../src/ros/process/realtime.js';

test('SCHED_FIFO for the threads, the learner and Node\'s helper threads back to SCHED_OTHER; 0 changes nothing', () => {
  const calls: string[] = [];
  const run = (cmd: string, args: string[]) => { calls.push([cmd, ...args].join(' ')); };
  assert.deepEqual(applyRealtime(0, [7], 'ros.rt_priority', run, 1234), { ok: true, message: 'ros.rt_priority 0: threads at normal scheduling' });
  assert.deepEqual(calls, []);
  const r = applyRealtime(60, [1240], 'ros.rt_priority', run, 1234, [1235, 1236]);
  assert.deepEqual(calls, ['chrt -a -f -p 60 1234', 'chrt -o -p 0 1240', 'chrt -o -p 0 1235', 'chrt -o -p 0 1236']);
  assert.equal(r.message, 'ros.rt_priority 60: the threads of process 1234 run SCHED_FIFO 60, except thread(s) 1240 (learner) and 2 Node helper thread(s) (V8 platform workers: garbage collection and compilation, the learner\'s too): SCHED_OTHER');
});

test('Node\'s helper threads are the threads this process had before ROS started, not the main thread', { skip: process.platform !== 'linux' && 'Linux /proc only' }, async () => {
  const { nodeHelperThreads } = await import('../src/ros/process/realtime.js');
  const helpers = nodeHelperThreads();
  assert.ok(helpers.length >= 1, 'V8 platform workers exist from startup');
  assert.ok(!helpers.includes(process.pid));
  const { readdirSync } = await import('node:fs');
  const now = readdirSync('/proc/self/task').map(Number);
  for (const t of helpers) assert.ok(now.includes(t), `thread ${t} is one of this process's`);
});

test('a refused policy is reported with the reason and what it needs', () => {
  const run = () => { throw Object.assign(new Error('Command failed'), { stderr: Buffer.from('chrt: failed to set pid 1234\'s policy: Operation not permitted\n') }); };
  const r = applyRealtime(50, [], 'rt_priority', run, 1234);
  assert.equal(r.ok, false);
  assert.equal(r.message, "rt_priority 50 not applied, threads stay at normal scheduling: chrt: failed to set pid 1234's policy: Operation not permitted (needs CAP_SYS_NICE or an rtprio limit, and util-linux chrt)");
  assert.equal(applyRealtime(120, [], 'rt_priority', run).ok, false);
});
