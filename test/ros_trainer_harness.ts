/**
 * naf_trainer on an in-process bus with a fake learner and actor, a fake joint-state driver at
 * 100 Hz and a probe recording commands, returns and /diagnostics. Not a test file itself.
 */
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { NafTrainerNode, type NafTrainerDeps } from '../src/ros/trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/trainer/parameters.js';
import type { DiagnosticArrayMsg, DiagnosticStatusMsg, ParameterValue } from '../src/ros/transport/transport.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger, FakeActor, FakeLearner, jointState, testConfig, testSpec, TinyTask } from './ros_fakes.js';

export const J = ['joint1', 'joint2', 'joint3'];

export interface Setup {
  policy?: (x: Float64Array, t: number) => Float64Array;
  config?: Record<string, unknown>;
  overrides?: Record<string, ParameterValue>;
  /** Order and subset of names the fake driver publishes. */
  names?: string[];
  /** Positions the driver publishes (configured order); default: home. */
  q?: number[];
  startDriver?: boolean;
  learner?: FakeLearner;
  /** More node dependencies (run folder, diagnostics file). */
  deps?: Partial<NafTrainerDeps>;
}

export function trainerHarness(s: Setup = {}) {
  const bus = new InProcessBus();
  const cap = captureLogger();
  const node = bus.createNode('naf_trainer', { parameterOverrides: s.overrides });
  const config = declareConfigParameters(node, testConfig(s.config));
  const learner = s.learner ?? new FakeLearner();
  const actor = new FakeActor(s.policy ?? (() => Float64Array.of(1, 1, 1)), config.model_based.on_policy_fraction, config.model_based.max_on_policy_fraction);
  const task = new TinyTask(config.task.home_pose, config.task.horizon);
  const trainer = new NafTrainerNode({ node, config, spec: testSpec(), task, actor, learner, rng: new Rng(1), logger: cap.logger, steadyNow: () => bus.now(), ...s.deps });
  learner.publishPolicy(0);
  const probe = bus.createNode('probe');
  const cmds: { t: number; u: number[] }[] = [];
  probe.createSubscription('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default', (m) => cmds.push({ t: bus.now(), u: Array.from(m.data) }));
  const returns: number[] = [];
  probe.createSubscription('std_msgs/msg/Float64', '/naf_trainer/episode_return', 'default', (m) => returns.push(m.data));
  const diags: DiagnosticArrayMsg[] = [];
  probe.createSubscription('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', 'default', (m) => diags.push(m));
  const jsPub = probe.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data');
  const names = s.names ?? J;
  const driver = { on: s.startDriver ?? true, q: s.q ?? config.task.home_pose };
  probe.createTimer(0.01, () => {
    if (driver.on) jsPub.publish(jointState(bus.now(), names, names.map((n) => driver.q[J.indexOf(n)] ?? 0)));
  });
  const estopPub = probe.createPublisher('std_msgs/msg/Bool', '/naf_trainer/estop', 'latched');
  const trigger = async (srv: string) => {
    const p = probe.createClient('std_srvs/srv/Trigger', `/naf_trainer/${srv}`).call({});
    await Promise.resolve();
    return p;
  };
  return { bus, node, probe, trainer, learner, actor, cmds, returns, diags, driver, estopPub, trigger, cap, config };
}


/** Value of `key` in status `name` of a diagnostics message. */
export function diagValue(msg: DiagnosticArrayMsg, name: string, key: string): string | undefined {
  const st: DiagnosticStatusMsg | undefined = msg.status.find((x) => x.name === name);
  return st?.values.find((v) => v.key === key)?.value;
}
