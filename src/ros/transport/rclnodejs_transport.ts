/**
 * The ROS transport (`transport.ts`) over rclnodejs 2.x, an optional dependency: it is loaded
 * with a dynamic import only when a node runs on ROS 2, and this file typechecks without it
 * (the small part of the rclnodejs API used is declared below, checked against the 2.2.0
 * sources: index.js, lib/node.js, lib/parameter.js, lib/qos.js, lib/service.js, lib/client.js).
 *
 * rclnodejs 2.2.0 behaviours this adapter works around (all read in its sources):
 *  - a params file containing an integer array (e.g. `agent.hidden: [200, 200]`) makes every
 *    `new Node()` throw: `_getNativeParameterOverrides` builds `Parameter(INTEGER_ARRAY, [200, ...])`
 *    from JS numbers, which fails its bigint check. So `RclnodejsContext.init` removes
 *    `--params-file <f>` from the arguments given to rcl and reads those files itself (same
 *    format, `<node>:` / `/<node>:` / `/**:` sections, nested keys become dotted names);
 *    `-p name:=value` overrides still go through rcl and win over files;
 *  - type and range failures are reported as "Parameter X does not  readonly" and ranges are not
 *    shown by `ros2 param describe`: every set (`ros2 param set` reaches the node's
 *    `setParametersAtomically` through its parameter services) first passes `refusal`
 *    (`parameter_checks.ts`: undeclared, read-only, type, range, each with our own reason), put
 *    in front of rclnodejs's own method on the node instance; ranges are written into the
 *    description;
 *  - `ros2 param set ... 1` sends an integer to a double parameter: a pre-set callback turns it
 *    into the double 1.0 (rclcpp rejects it; accepting is what a user means);
 *  - FloatingPointRange's step defaults to 1 (every value between steps rejected): not used.
 * Callback exceptions are caught and logged (an exception inside an rclnodejs executor
 * callback would take the process down while an effort controller holds the last torque).
 */
import { createRequire } from 'node:module';
import { readParamsFiles, splitParamsFiles } from './params_files.js';
import { checkParameterValue, describeWithRange, refusal } from './parameter_checks.js';
import type {
  MessageInfo, MessageTypeName, MessageTypes, OnSetParametersCallback, ParameterDescriptor, ParameterKind, ParameterUpdate,
  ParameterValue, PostSetParametersCallback, QosName, QosSpec, RosClient, RosLogger, RosNode, RosPublisher, RosSubscription,
  RosTimer, ServiceTypeName, ServiceTypes, SetParametersResult,
} from './transport.js';
import { qosSpec } from './transport.js';

/* ---- the subset of rclnodejs 2.x used here ---- */
interface RclParameter { readonly name: string; readonly type: number; readonly value: unknown }
interface RclLogger { debug(m: string): boolean; info(m: string): boolean; warn(m: string): boolean; error(m: string): boolean }
interface RclResult { successful: boolean; reason: string | null }
interface RclNode {
  name(): string;
  namespace(): string;
  getLogger(): RclLogger;
  now(): { nanoseconds: bigint };
  resolveTopicName(name: string, onlyExpand?: boolean): string;
  createPublisher(type: string, topic: string, options?: { qos?: unknown }): { publish(msg: unknown): void };
  /** A callback declaring two parameters gets rclnodejs's MessageInfo (publisherGid: Buffer) as the second. */
  createSubscription(type: string, topic: string, options: { qos?: unknown }, cb: (msg: unknown, info?: { publisherGid?: Uint8Array }) => void): unknown;
  countPublishers(topic: string): number;
  destroySubscription(sub: unknown): void;
  createTimer(period: bigint, cb: () => void): { cancel(): void };
  createService(type: string, name: string, options: object, cb: (req: unknown, resp: { send(r: unknown): void }) => unknown): unknown;
  createClient(type: string, name: string): { waitForService(timeoutMs?: number): Promise<boolean>; sendRequestAsync(req: unknown, opts?: { timeout?: number }): Promise<unknown> };
  declareParameter(p: RclParameter, d?: unknown, ignoreOverride?: boolean): RclParameter;
  getParameter(name: string): RclParameter;
  hasParameter(name: string): boolean;
  setParametersAtomically(params: RclParameter[]): RclResult;
  getParameterOverrides(): RclParameter[];
  addOnSetParametersCallback(cb: (params: RclParameter[]) => RclResult): void;
  addPreSetParametersCallback(cb: (params: RclParameter[]) => RclParameter[]): void;
  addPostSetParametersCallback(cb: (params: RclParameter[]) => void): void;
  spin(timeoutMs?: number): void;
  destroy(): void;
}
interface RclModule {
  init(context?: unknown, argv?: string[]): Promise<void>;
  shutdown(context?: unknown): void;
  isShutdown(context?: unknown): boolean;
  removeSignalHandlers(): void;
  Node: new (name: string, namespace?: string, context?: unknown, options?: { parameterOverrides?: RclParameter[] }) => RclNode;
  Parameter: new (name: string, type: number, value?: unknown) => RclParameter;
  ParameterDescriptor: new (name: string, type: number, description?: string, readOnly?: boolean) => unknown;
  QoS: {
    profileSensorData: string; profileDefault: string;
    HistoryPolicy: Record<string, number>; ReliabilityPolicy: Record<string, number>; DurabilityPolicy: Record<string, number>;
    new (history?: number, depth?: number, reliability?: number, durability?: number): unknown;
  };
}

const TYPE_IDS: Record<ParameterKind, number> = {
  bool: 1, integer: 2, double: 3, string: 4, bool_array: 6, integer_array: 7, double_array: 8, string_array: 9,
};

/**
 * Loads rclnodejs: ESM import first, then `require` (which honours NODE_PATH, so a ROS 2
 * workspace's rclnodejs can be used without adding it to package.json).
 * @throws Error "rclnodejs not loadable: ..." with both causes, or without trying when no ROS 2
 *   environment is sourced.
 */
export async function loadRclnodejs(): Promise<RclModule> {
  const name = 'rclnodejs';
  // rclnodejs 2.2.0 answers a native binary that cannot load (librcl not on the library path)
  // with `npm run rebuild`, whose first step deletes its build (lib/native_loader.js): never
  // load it outside a sourced ROS 2 environment.
  if (!process.env.AMENT_PREFIX_PATH) {
    throw new Error('rclnodejs not loadable: no ROS 2 environment is sourced (AMENT_PREFIX_PATH is unset); not loaded, ' +
      'because rclnodejs 2.2.0 would delete its native build and try to recompile it');
  }
  try {
    const m = (await import(name)) as { default?: RclModule };
    return (m.default ?? m) as RclModule;
  } catch (esmError) {
    try {
      const m = createRequire(import.meta.url)(name) as RclModule & { default?: RclModule };
      return m.default ?? m;
    } catch (cjsError) {
      throw new Error(`rclnodejs not loadable: ${(esmError as Error).message.split('\n')[0]} / require: ${(cjsError as Error).message.split('\n')[0]}`);
    }
  }
}

function toRclValue(kind: ParameterKind, v: ParameterValue): unknown {
  if (kind === 'integer') return BigInt(v as number);
  if (kind === 'integer_array') return (v as number[]).map((x) => BigInt(x));
  if (kind === 'double_array') return (v as number[]).map(Number);
  return v;
}

function fromRclValue(v: unknown): ParameterValue {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? Number(x) : x)) as ParameterValue;
  return v as ParameterValue;
}

/**
 * The process-wide node name and namespace remaps in `--ros-args` (`-r __node:=x`, `--remap
 * __ns:=/y`), which rcl applies to every node of the process.
 */
export function nameRemaps(argv: string[]): { node?: string; ns?: string } {
  const out: { node?: string; ns?: string } = {};
  let inRos = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ros-args') inRos = true;
    else if (argv[i] === '--') inRos = false;
    else if (inRos && (argv[i] === '-r' || argv[i] === '--remap') && i + 1 < argv.length) {
      const m = /^__(node|ns):=(.+)$/.exec(argv[++i]);
      if (m) out[m[1] as 'node' | 'ns'] = m[2];
    }
  }
  if (out.ns && !out.ns.startsWith('/')) out.ns = `/${out.ns}`;
  return out;
}

/** An initialised rclnodejs context holding naf_ros nodes. */
export class RclnodejsContext {
  private readonly nodes: RclnodejsNode[] = [];
  private spinning = false;

  private constructor(readonly rcl: RclModule, private readonly paramsFiles: string[], private readonly remaps: { node?: string; ns?: string }) {}

  /**
   * Loads rclnodejs and initialises the default context with `argv` (its `--ros-args`:
   * remaps, `-p`, log levels; `--params-file` is read by `readParamsFiles` instead).
   * @throws Error when rclnodejs cannot be loaded or rcl rejects the arguments.
   */
  static async init(argv: string[] = process.argv): Promise<RclnodejsContext> {
    const rcl = await loadRclnodejs();
    const { argv: rest, paramsFiles } = splitParamsFiles(argv);
    await rcl.init(undefined, rest);
    return new RclnodejsContext(rcl, paramsFiles, nameRemaps(rest));
  }

  /**
   * Creates a node; its parameter overrides are the params files' section for it plus `extra`.
   * `use_sim_time` from those goes to the node at construction (rclnodejs's TimeSource).
   */
  createNode(name: string, opts: { namespace?: string; parameterOverrides?: Record<string, ParameterValue> } = {}): RclnodejsNode {
    // The params files' sections are matched against the name rcl gives the node: `ros2 launch`
    // passes a namespaced node's name and namespace as remaps (-r __node:=, -r __ns:=) and writes
    // its parameters under the fully qualified name.
    const fromFiles = readParamsFiles(this.paramsFiles, this.remaps.node ?? name, this.remaps.ns ?? opts.namespace ?? '/');
    for (const [k, v] of Object.entries(opts.parameterOverrides ?? {})) fromFiles.set(k, v);
    const simTime = fromFiles.get('use_sim_time');
    const nodeOpts = {
      ...(typeof simTime === 'boolean' ? { parameterOverrides: [new this.rcl.Parameter('use_sim_time', 1, simTime)] } : {}),
      // On Humble rcl_node_init registers the node's /rosout publisher itself; rclnodejs 2.x registers
      // it again unless told not to ("Publisher already registered for provided node name" at every
      // start). Later distributions leave it to the client library.
      ...(process.env.ROS_DISTRO === 'humble' ? { enableRosout: false } : {}),
    };
    const node = new RclnodejsNode(this.rcl, new this.rcl.Node(name, opts.namespace ?? '', undefined, nodeOpts), fromFiles);
    this.nodes.push(node);
    if (this.spinning) node.startSpinning();
    return node;
  }

  /** Starts processing callbacks of all nodes (rclnodejs spins in the libuv loop; returns at once). */
  spin(): void {
    this.spinning = true;
    for (const n of this.nodes) n.startSpinning();
  }

  /** Destroys the nodes and shuts the context down. */
  async shutdown(): Promise<void> {
    for (const n of this.nodes.splice(0)) n.destroy();
    if (!this.rcl.isShutdown()) this.rcl.shutdown();
  }
}

/** A naf_ros `RosNode` backed by an rclnodejs Node. */
export class RclnodejsNode implements RosNode {
  readonly logger: RosLogger;
  spinning = false;
  private readonly descriptors = new Map<string, ParameterDescriptor>();
  private readonly onSet: OnSetParametersCallback[] = [];
  private readonly postSet: PostSetParametersCallback[] = [];

  constructor(private readonly rcl: RclModule, readonly raw: RclNode, private readonly overrides: Map<string, unknown>) {
    const l = raw.getLogger();
    this.logger = { debug: (m) => void l.debug(m), info: (m) => void l.info(m), warn: (m) => void l.warn(m), error: (m) => void l.error(m) };
    const own = raw.setParametersAtomically.bind(raw);
    raw.setParametersAtomically = (params) => {
      for (const p of params) {
        if (!this.descriptors.has(p.name) && raw.hasParameter(p.name)) continue; // not ours (use_sim_time, qos_overrides.*)
        const c = refusal(p.name, p.type === 0 ? undefined : fromRclValue(p.value), this.descriptors.get(p.name), this.resolveName('~'), this.descriptors.keys());
        if ('reason' in c) return { successful: false, reason: c.reason };
      }
      return own(params);
    };
    raw.addPreSetParametersCallback((params) => params.map((p) => {
      const d = this.descriptors.get(p.name);
      const coerce = d && ((d.type === 'double' && p.type === TYPE_IDS.integer) || (d.type === 'double_array' && p.type === TYPE_IDS.integer_array));
      return coerce ? new rcl.Parameter(p.name, TYPE_IDS[d.type], toRclValue(d.type, fromRclValue(p.value))) : p;
    }));
    raw.addOnSetParametersCallback((params) => {
      const updates: ParameterUpdate[] = [];
      for (const p of params) {
        const d = this.descriptors.get(p.name);
        if (!d) continue; // not ours (use_sim_time, qos_overrides.*)
        const c = checkParameterValue(p.name, fromRclValue(p.value), d);
        if ('reason' in c) return { successful: false, reason: c.reason };
        updates.push({ name: p.name, value: c.value });
      }
      for (const cb of this.onSet) {
        const r = this.guard('on-set-parameters callback', () => cb(updates), { successful: false, reason: 'on-set-parameters callback failed' });
        if (!r.successful) return { successful: false, reason: r.reason };
      }
      return { successful: true, reason: '' };
    });
    raw.addPostSetParametersCallback((params) => {
      const updates = params.filter((p) => this.descriptors.has(p.name)).map((p) => ({ name: p.name, value: fromRclValue(p.value) }));
      if (updates.length) for (const cb of this.postSet) this.guard('post-set-parameters callback', () => cb(updates), undefined);
    });
  }

  /** Names given for this node by params files and `-p` (to catch typos). */
  overrideNames(): string[] {
    return [...new Set([...this.overrides.keys(), ...this.raw.getParameterOverrides().map((p) => p.name)])];
  }

  /** Starts this node's executor (idempotent). */
  startSpinning(): void {
    if (this.spinning) return;
    this.raw.spin();
    this.spinning = true;
  }

  get name(): string { return this.raw.name(); }
  get namespace(): string { return this.raw.namespace() || '/'; }

  now(): number {
    return Number(this.raw.now().nanoseconds) / 1e9;
  }

  resolveName(name: string): string {
    return this.raw.resolveTopicName(name);
  }

  private qos(q: QosName | QosSpec): unknown {
    const Q = this.rcl.QoS;
    if (q === 'sensor_data') return Q.profileSensorData;
    if (q === 'default') return Q.profileDefault;
    const s = qosSpec(q);
    return new Q(Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, s.depth,
      s.reliability === 'reliable' ? Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE : Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT,
      s.durability === 'transient_local' ? Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL : Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE);
  }

  private guard<T>(what: string, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.logger.error(`${what} threw: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }

  createPublisher<K extends MessageTypeName>(type: K, topic: string, qos: QosName | QosSpec): RosPublisher<MessageTypes[K]> {
    const pub = this.raw.createPublisher(type, topic, { qos: this.qos(qos) });
    return { topic: this.resolveName(topic), publish: (msg) => pub.publish(msg) };
  }

  /**
   * A callback that declares the `info` parameter makes rclnodejs take messages with their
   * rmw_message_info_t (rclTakeWithInfo); the publisher GID comes as hex.
   */
  createSubscription<K extends MessageTypeName>(type: K, topic: string, qos: QosName | QosSpec, callback: (msg: MessageTypes[K], info: MessageInfo) => void): RosSubscription {
    const wantsInfo = callback.length >= 2;
    const deliver = (msg: unknown, gid?: Uint8Array) => this.guard(`subscription ${topic}`,
      () => callback(msg as MessageTypes[K], { publisherGid: gid ? Buffer.from(gid.buffer, gid.byteOffset, gid.byteLength).toString('hex') : '' }), undefined);
    const sub = this.raw.createSubscription(type, topic, { qos: this.qos(qos) },
      wantsInfo ? (msg, info) => deliver(msg, info?.publisherGid) : (msg) => deliver(msg));
    return { topic: this.resolveName(topic), destroy: () => this.raw.destroySubscription(sub) };
  }

  countPublishers(topic: string): number {
    return this.raw.countPublishers(topic);
  }

  /** rclnodejs 2.x timers take a bigint period in nanoseconds (lib/node.js `createTimer`). */
  createTimer(periodS: number, callback: () => void): RosTimer {
    if (!(periodS > 0 && Number.isFinite(periodS))) throw new RangeError(`createTimer: period must be > 0 s, got ${periodS}`);
    const t = this.raw.createTimer(BigInt(Math.round(periodS * 1e9)), () => this.guard('timer', callback, undefined));
    return { period: periodS, cancel: () => t.cancel() };
  }

  createService<S extends ServiceTypeName>(
    type: S, name: string,
    handler: (request: ServiceTypes[S]['request']) => ServiceTypes[S]['response'] | Promise<ServiceTypes[S]['response']>,
  ): void {
    this.raw.createService(type, name, {}, (req, resp) => {
      Promise.resolve()
        .then(() => handler(req as ServiceTypes[S]['request']))
        .then((r) => resp.send(r), (e) => {
          this.logger.error(`service ${name} failed: ${(e as Error).stack ?? e}`);
          resp.send({ success: false, message: String((e as Error).message ?? e) });
        });
    });
  }

  createClient<S extends ServiceTypeName>(type: S, name: string): RosClient<S> {
    const client = this.raw.createClient(type, name);
    const service = this.resolveName(name);
    return {
      service,
      call: async (req, timeoutS = 5) => {
        if (!(await client.waitForService(timeoutS * 1000))) throw new Error(`service ${service} not available after ${timeoutS} s`);
        return (await client.sendRequestAsync(req, { timeout: timeoutS * 1000 })) as ServiceTypes[S]['response'];
      },
    };
  }

  declareParameter(name: string, defaultValue: ParameterValue, d: ParameterDescriptor): ParameterValue {
    const cli = this.raw.getParameterOverrides().find((p) => p.name === name);
    const given = cli ? fromRclValue(cli.value) : this.overrides.has(name) ? this.overrides.get(name) : defaultValue;
    const c = checkParameterValue(name, given, d);
    if ('reason' in c) throw new Error(c.reason);
    this.descriptors.set(name, d);
    try {
      const type = TYPE_IDS[d.type];
      this.raw.declareParameter(new this.rcl.Parameter(name, type, toRclValue(d.type, c.value)),
        new this.rcl.ParameterDescriptor(name, type, describeWithRange(d), d.readOnly ?? false), true);
    } catch (e) {
      this.descriptors.delete(name);
      throw e;
    }
    return c.value;
  }

  getParameter(name: string): ParameterValue {
    if (!this.raw.hasParameter(name)) throw new Error(`parameter '${name}' is not declared`);
    return fromRclValue(this.raw.getParameter(name).value);
  }

  hasParameter(name: string): boolean {
    return this.raw.hasParameter(name);
  }

  setParameters(updates: ParameterUpdate[]): SetParametersResult {
    const params: RclParameter[] = [];
    for (const u of updates) {
      const d = this.descriptors.get(u.name);
      const c = refusal(u.name, u.value, d, this.resolveName('~'), this.descriptors.keys());
      if ('reason' in c) return { successful: false, reason: c.reason };
      params.push(new this.rcl.Parameter(u.name, TYPE_IDS[d!.type], toRclValue(d!.type, c.value)));
    }
    const r = this.raw.setParametersAtomically(params);
    return { successful: r.successful, reason: r.reason ?? '' };
  }

  addOnSetParametersCallback(callback: OnSetParametersCallback): void {
    this.onSet.unshift(callback);
  }

  addPostSetParametersCallback(callback: PostSetParametersCallback): void {
    this.postSet.unshift(callback);
  }

  destroy(): void {
    this.raw.destroy();
  }
}
