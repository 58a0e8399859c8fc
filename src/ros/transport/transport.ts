/**
 * The one narrow interface through which naf_ros talks ROS 2 (DESIGN Sec. 2 and 5).
 *
 * The trainer node and the MuJoCo sim bridge are written against `RosNode` only. Two
 * implementations exist: `inprocess_transport.ts` (a deterministic in-memory bus with a manual
 * clock, for tests and for running both nodes in one process) and `rclnodejs_transport.ts`
 * (real ROS 2 through rclnodejs 2.x). `test/ros_contract.test.ts` runs the same scenarios over
 * both, so they agree on the semantics documented here.
 *
 * Messages are plain JS objects shaped like the ROS messages (field names as in the .msg
 * files). Numeric array fields may be `number[]` or typed arrays: rclnodejs delivers float64[]
 * fields as `Float64Array` (its `enableTypedArray` default), so readers must accept both.
 *
 * Names: topic and service names follow ROS rules; a node-private name `~/x` expands to
 * `/<namespace>/<node>/x` (e.g. `~/pause` of node `naf_trainer` is `/naf_trainer/pause`).
 */

/** builtin_interfaces/msg/Time. */
export interface TimeMsg {
  sec: number;
  nanosec: number;
}

/** std_msgs/msg/Header. */
export interface HeaderMsg {
  stamp: TimeMsg;
  frame_id: string;
}

/** A float64[] field: `number[]` when we build it, `Float64Array` when rclnodejs delivers it. */
export type Float64Seq = ArrayLike<number>;

/** sensor_msgs/msg/JointState. position rad, velocity rad/s, effort N·m; empty arrays allowed. */
export interface JointStateMsg {
  header: HeaderMsg;
  name: string[];
  position: Float64Seq;
  velocity: Float64Seq;
  effort: Float64Seq;
}

/** std_msgs/msg/MultiArrayDimension. */
export interface MultiArrayDimensionMsg {
  label: string;
  size: number;
  stride: number;
}

/** std_msgs/msg/Float64MultiArray (the JointGroupEffortController command, N·m per joint). */
export interface Float64MultiArrayMsg {
  layout: { dim: MultiArrayDimensionMsg[]; data_offset: number };
  data: Float64Seq;
}

/** std_msgs/msg/Bool. */
export interface BoolMsg {
  data: boolean;
}

/** std_msgs/msg/Float64. */
export interface Float64Msg {
  data: number;
}

/** rosgraph_msgs/msg/Clock. */
export interface ClockMsg {
  clock: TimeMsg;
}

/** diagnostic_msgs/msg/KeyValue. */
export interface KeyValueMsg {
  key: string;
  value: string;
}

/** diagnostic_msgs/msg/DiagnosticStatus; level OK = 0, WARN = 1, ERROR = 2, STALE = 3. */
export interface DiagnosticStatusMsg {
  level: number;
  name: string;
  message: string;
  hardware_id: string;
  values: KeyValueMsg[];
}

/** diagnostic_msgs/msg/DiagnosticArray. */
export interface DiagnosticArrayMsg {
  header: HeaderMsg;
  status: DiagnosticStatusMsg[];
}

/** The message types naf_ros uses, by ROS type name. */
export interface MessageTypes {
  'sensor_msgs/msg/JointState': JointStateMsg;
  'std_msgs/msg/Float64MultiArray': Float64MultiArrayMsg;
  'std_msgs/msg/Bool': BoolMsg;
  'std_msgs/msg/Float64': Float64Msg;
  'rosgraph_msgs/msg/Clock': ClockMsg;
  'diagnostic_msgs/msg/DiagnosticArray': DiagnosticArrayMsg;
}
export type MessageTypeName = keyof MessageTypes;

/** std_srvs/srv/Trigger. */
export interface TriggerRequest {}
export interface TriggerResponse {
  success: boolean;
  message: string;
}

/** The service types naf_ros uses. */
export interface ServiceTypes {
  'std_srvs/srv/Trigger': { request: TriggerRequest; response: TriggerResponse };
}
export type ServiceTypeName = keyof ServiceTypes;

/**
 * QoS profiles by name:
 * - `sensor_data`: best effort, volatile, keep last 5 (rmw_qos_profile_sensor_data);
 * - `default`: reliable, volatile, keep last 10 (rmw_qos_profile_default);
 * - `latched`: reliable, transient local, keep last 1 — a late subscriber gets the last message
 *   (the e-stop topic; a late-joining node must see an e-stop published before it started).
 * A best-effort publisher and a reliable subscriber are incompatible (no delivery), as in DDS.
 */
export type QosName = 'sensor_data' | 'default' | 'latched';

export interface QosSpec {
  reliability: 'reliable' | 'best_effort';
  durability: 'volatile' | 'transient_local';
  depth: number;
}

export const QOS_PROFILES: Readonly<Record<QosName, QosSpec>> = {
  sensor_data: { reliability: 'best_effort', durability: 'volatile', depth: 5 },
  default: { reliability: 'reliable', durability: 'volatile', depth: 10 },
  latched: { reliability: 'reliable', durability: 'transient_local', depth: 1 },
};

/** The profile of a name, or the spec itself (a depth of its own: the fleet's episode history). */
export function qosSpec(qos: QosName | QosSpec): QosSpec {
  return typeof qos === 'string' ? QOS_PROFILES[qos] : qos;
}

/** DDS request/offer compatibility: can a subscriber with `sub` receive from a publisher with `pub`? */
export function qosCompatible(pub: QosSpec, sub: QosSpec): boolean {
  if (sub.reliability === 'reliable' && pub.reliability === 'best_effort') return false;
  if (sub.durability === 'transient_local' && pub.durability === 'volatile') return false;
  return true;
}

/** Parameter types (rcl_interfaces/msg/ParameterType), by name. */
export type ParameterKind =
  | 'bool' | 'integer' | 'double' | 'string'
  | 'bool_array' | 'integer_array' | 'double_array' | 'string_array';

/** A parameter value; integers are plain JS numbers (safe integers) on this interface. */
export type ParameterValue = boolean | number | string | boolean[] | number[] | string[];

/** rcl_interfaces/msg/ParameterDescriptor, the parts naf_ros uses. */
export interface ParameterDescriptor {
  type: ParameterKind;
  description: string;
  /** Cannot be changed after declaration (`ros2 param set` is rejected). */
  readOnly?: boolean;
  /** Inclusive range of a double (or each element of a double array); step 0 = continuous. */
  floatingPointRange?: { from: number; to: number; step?: number };
  /** Inclusive range of an integer (or each element of an integer array). */
  integerRange?: { from: number; to: number; step?: number };
}

export interface ParameterUpdate {
  name: string;
  value: ParameterValue;
}

/** rcl_interfaces/msg/SetParametersResult. */
export interface SetParametersResult {
  successful: boolean;
  reason: string;
}

/** Validation hook: veto a set of updates with a reason (rclnodejs `addOnSetParametersCallback`). */
export type OnSetParametersCallback = (updates: ParameterUpdate[]) => SetParametersResult;
/** Side-effect hook after updates were stored (rclnodejs `addPostSetParametersCallback`). */
export type PostSetParametersCallback = (updates: ParameterUpdate[]) => void;

export interface RosPublisher<M> {
  readonly topic: string;
  publish(msg: M): void;
}

export interface RosSubscription {
  readonly topic: string;
  destroy(): void;
}

/**
 * What the middleware says about one received message (rmw_message_info_t, the part naf_ros
 * uses). `publisherGid` identifies the publisher (hex of the rmw GID: 24 bytes on Humble, 16 on
 * Jazzy); '' when the middleware does not report it.
 */
export interface MessageInfo {
  publisherGid: string;
}

export interface RosTimer {
  /** Period, s. */
  readonly period: number;
  cancel(): void;
}

export interface RosClient<S extends ServiceTypeName> {
  readonly service: string;
  /**
   * Calls the service and resolves with its response.
   * @param timeoutS how long to wait for the server to appear and answer, s
   * @throws Error naming the service when no server answers in time
   */
  call(request: ServiceTypes[S]['request'], timeoutS?: number): Promise<ServiceTypes[S]['response']>;
}

/** The node's logger (forwarded to /rosout by rclnodejs). */
export interface RosLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * A ROS 2 node, as far as naf_ros needs one.
 *
 * Callbacks (subscriptions, timers, services, parameter hooks) never run concurrently with each
 * other (single-threaded executor). Parameter semantics follow rclcpp/rclnodejs:
 * - `declareParameter` takes the launch-time override (params file, `-p`) when there is one,
 *   else the default, validates it against the descriptor and the on-set callbacks, and throws
 *   `Error(reason)` when invalid;
 * - `setParameters` is atomic: the first failing check (undeclared, read-only, type, range, then
 *   each on-set callback in order) rejects all updates with that reason and keeps old values;
 * - on success post-set callbacks run with the stored values.
 * An integer given for a `double` parameter is accepted as that double (YAML `max_effort: 5`).
 */
export interface RosNode {
  /** Node name, e.g. `naf_trainer`. */
  readonly name: string;
  /** Node namespace, `/` when none. */
  readonly namespace: string;
  readonly logger: RosLogger;
  /** Current time of the node's clock (ROS time: sim time under `use_sim_time`), s. */
  now(): number;
  /** Expands a name to a fully qualified one (`~/pause` -> `/naf_trainer/pause`). */
  resolveName(name: string): string;

  /** `qos`: a named profile, or a spec (keep-last `depth`). */
  createPublisher<K extends MessageTypeName>(type: K, topic: string, qos: QosName | QosSpec): RosPublisher<MessageTypes[K]>;
  /** The callback's second argument says who published the message (see `MessageInfo`). */
  createSubscription<K extends MessageTypeName>(
    type: K, topic: string, qos: QosName | QosSpec, callback: (msg: MessageTypes[K], info: MessageInfo) => void,
  ): RosSubscription;
  /**
   * Publishers on `topic` in the ROS graph now (rcl_count_publishers; this node's own included),
   * any QoS. Discovery is asynchronous over DDS: a publisher that just appeared may not be counted yet.
   */
  countPublishers(topic: string): number;
  /** A timer on the node's clock firing every `periodS` seconds (first call one period from now). */
  createTimer(periodS: number, callback: () => void): RosTimer;
  /** A service server; the handler's (possibly async) result is the response. */
  createService<S extends ServiceTypeName>(
    type: S, name: string,
    handler: (request: ServiceTypes[S]['request']) => ServiceTypes[S]['response'] | Promise<ServiceTypes[S]['response']>,
  ): void;
  createClient<S extends ServiceTypeName>(type: S, name: string): RosClient<S>;

  /** Declares a parameter; returns its effective value. @throws Error with the reason when invalid. */
  declareParameter(name: string, defaultValue: ParameterValue, descriptor: ParameterDescriptor): ParameterValue;
  /** @throws Error when the parameter is not declared. */
  getParameter(name: string): ParameterValue;
  hasParameter(name: string): boolean;
  /** Atomic update (what `ros2 param set` does through the node's parameter services). */
  setParameters(updates: ParameterUpdate[]): SetParametersResult;
  addOnSetParametersCallback(callback: OnSetParametersCallback): void;
  addPostSetParametersCallback(callback: PostSetParametersCallback): void;

  /** Destroys the node's entities (subscriptions, timers, services stop). */
  destroy(): void;
}

/** Seconds -> builtin_interfaces/msg/Time (floor to the nanosecond; negative times clamp to 0). */
export function toTimeMsg(t: number): TimeMsg {
  if (!Number.isFinite(t) || t <= 0) return { sec: 0, nanosec: 0 };
  let sec = Math.floor(t);
  let nanosec = Math.round((t - sec) * 1e9);
  if (nanosec >= 1e9) {
    sec += 1;
    nanosec -= 1e9;
  }
  return { sec, nanosec };
}

/** builtin_interfaces/msg/Time -> seconds. */
export function fromTimeMsg(t: TimeMsg): number {
  return Number(t.sec) + Number(t.nanosec) * 1e-9;
}

/** A header stamped at `t` seconds. */
export function header(t: number, frameId = ''): HeaderMsg {
  return { stamp: toTimeMsg(t), frame_id: frameId };
}

/**
 * ROS name expansion (rcl_expand_topic_name rules for the cases naf_ros uses): `~` and `~/x`
 * are node-private, names without a leading `/` are relative to the namespace.
 * @throws Error on an empty name or an invalid character.
 */
export function expandName(name: string, nodeName: string, namespace: string): string {
  if (!name) throw new Error('expandName: empty topic/service name');
  if (!/^[~/A-Za-z0-9_{}]*$/.test(name) || name.includes('//')) {
    throw new Error(`expandName: invalid ROS name "${name}" (allowed: letters, digits, _, /, leading ~)`);
  }
  const ns = namespace === '' || namespace === '/' ? '' : namespace.replace(/\/$/, '');
  if (name === '~') return `${ns}/${nodeName}`;
  if (name.startsWith('~/')) return `${ns}/${nodeName}/${name.slice(2)}`;
  if (name.startsWith('/')) return name;
  return `${ns}/${name}`;
}
