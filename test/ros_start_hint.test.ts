/**
 * The hint a node prints when ROS does not start (src/ros/process/start_hint.ts): it names the
 * cause the error and the environment point to. The messages are rcl's and rmw's own (Humble,
 * Cyclone DDS), as the node printed them on this machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rosStartHint } from '../src/ros/process/start_hint.js';

const ros = { ROS_DISTRO: 'humble', AMENT_PREFIX_PATH: '/opt/ros/humble', ROS_DOMAIN_ID: '53' };
const sros = { ...ros, ROS_SECURITY_ENABLE: 'true', ROS_SECURITY_STRATEGY: 'Enforce', ROS_SECURITY_KEYSTORE: '/ks' };

test('no ROS or no rclnodejs: source ROS, install rclnodejs', () => {
  assert.match(rosStartHint('Cannot find module rclnodejs', ros), /source \/opt\/ros\/<distro>\/setup\.bash.*npm install rclnodejs/);
  assert.match(rosStartHint('anything', {}), /need a sourced ROS 2/);
});

test('SROS2 with the enclave or the keystore missing: the keystore, the enclave, enclaves:=', () => {
  const h = rosStartHint("SECURITY ERROR: directory '/ks/enclaves/nope' does not exist., at rcl/src/rcl/security.c:202", sros);
  assert.match(h, /enclave was not found in ROS_SECURITY_KEYSTORE=\/ks/);
  assert.match(h, /generate_artifacts/);
  assert.match(h, /enclaves:=\/naf_ros/);
  assert.doesNotMatch(h, /source \/opt\/ros/, 'not the "source ROS" hint: ROS is sourced');
});

test('SROS2 with the participant refused: a keystore of another domain, named with this one', () => {
  const h = rosStartHint("rcl node's rmw handle is invalid, at rcl/src/rcl/node.c:415", sros);
  assert.match(h, /made for another ROS_DOMAIN_ID/);
  assert.match(h, /this node is on 53/);
});

test('without SROS2 the same rcl error is not blamed on security', () => {
  const h = rosStartHint("rcl node's rmw handle is invalid, at rcl/src/rcl/node.c:415", ros);
  assert.doesNotMatch(h, /SROS2/);
  assert.match(h, /ROS_DISTRO humble/);
});
