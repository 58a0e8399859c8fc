/**
 * The stop-signal rule of the ROS nodes (src/ros/process/stop_signals.ts): the first signal stops,
 * the duplicate a terminal and ros2 launch both send is ignored, a deliberate repeat forces exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopSignals } from '../src/ros/process/stop_signals.js';

test('first signal stops; repeats within the grace are the same stop; a later one forces the exit', () => {
  const s = new StopSignals(3000);
  assert.equal(s.onSignal(1000), 'stop');
  assert.equal(s.onSignal(1005), 'ignore', "ros2 launch's SIGINT after the terminal's");
  assert.equal(s.onSignal(3900), 'ignore');
  assert.equal(s.onSignal(4000), 'force', 'a second Ctrl-C 3 s later');
  assert.equal(s.onSignal(9000), 'force');
});
