/**
 * In-process implementation of the ROS transport (`transport.ts`): a shared bus through which
 * several nodes (trainer, sim bridge, test probes) talk in one process, on a manual clock.
 *
 * Faithful to ROS 2 where naf_ros depends on it:
 * - delivery is asynchronous: `publish` queues, and messages reach subscribers when the bus
 *   spins (`spinSome`, or between timer callbacks in `advance`), never inside the publisher's
 *   callback; subscribers get a copy, float64[] fields as `Float64Array` (like rclnodejs);
 * - QoS: keep-last depth per subscription (a slow reader sees only the newest messages),
 *   reliable/best-effort and transient-local/volatile compatibility as in DDS, and
 *   transient-local publishers deliver their last `depth` messages to late subscribers;
 * - timers fire in time order (ties in creation order) at exact multiples of their period;
 * - parameters: overrides win over defaults at declare time; read-only, type and range checks
 *   and on-set callbacks reject atomically with a reason; post-set callbacks after storing;
 * - service calls are answered on a later microtask, never inside the caller's callback;
 * - every publisher has its own GID (`MessageInfo.publisherGid`, 24 hex bytes as on Humble), and
 *   `countPublishers` counts the publishers of a topic as the ROS graph does.
 * Time is integer nanoseconds internally, so timers do not drift.
 */
import { checkParameterValue, describeWithRange, refusal } from './parameter_checks.js';
import {
  expandName, qosCompatible, qosSpec,
  type MessageInfo, type MessageTypeName, type MessageTypes, type OnSetParametersCallback, type ParameterDescriptor,
  type ParameterUpdate, type ParameterValue, type PostSetParametersCallback, type QosName, type QosSpec,
  type RosClient, type RosLogger, type RosNode, type RosPublisher, type RosSubscription, type RosTimer,
  type ServiceTypeName, type ServiceTypes, type SetParametersResult,
} from './transport.js';

interface Sub {
  node: InProcessNode;
  topic: string;
  type: string;
  qos: QosSpec;
  cb: (msg: never, info: MessageInfo) => void;
  pending: Entry[];
  alive: boolean;
}
interface Entry { sub: Sub; msg: unknown; info: MessageInfo; dropped: boolean }
interface Pub { node: InProcessNode; topic: string; type: string; qos: QosSpec; history: unknown[]; gid: string }
interface Timer { node: InProcessNode; periodNs: number; nextNs: number; cb: () => void; seq: number; alive: boolean }
type Handler = (req: unknown) => unknown;

/** A log line written by a node of the bus. */
export interface BusLogRecord { node: string; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; t: number }

/** Deep copy as the wire would make it: numeric arrays become Float64Array. */
function wireCopy(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return Float64Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'number')) return Float64Array.from(v as number[]);
    return v.map(wireCopy);
  }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = wireCopy(x);
    return o;
  }
  return v;
}

/** The shared bus: clock, topics, services. */
export class InProcessBus {
  private tNs: number;
  private readonly subs: Sub[] = [];
  private readonly pubs: Pub[] = [];
  private readonly timers: Timer[] = [];
  private readonly services = new Map<string, { type: string; handler: Handler; node: InProcessNode }>();
  private readonly nodes = new Map<string, InProcessNode>();
  private queue: Entry[] = [];
  private timerSeq = 0;
  private gidSeq = 0;
  /** Everything the nodes logged, in order. */
  readonly logs: BusLogRecord[] = [];

  /** @param opts.startTime initial clock, s (default 0); opts.echoLogs also prints node logs */
  constructor(private readonly opts: { startTime?: number; echoLogs?: boolean } = {}) {
    this.tNs = Math.round((opts.startTime ?? 0) * 1e9);
  }

  /** Bus time, s. */
  now(): number {
    return this.tNs / 1e9;
  }

  /**
   * Creates a node. @param opts.parameterOverrides launch-time values (what a params file or
   * `-p name:=value` gives a real node). @throws Error when a node of that name exists.
   */
  createNode(name: string, opts: { namespace?: string; parameterOverrides?: Record<string, ParameterValue> } = {}): InProcessNode {
    const node = new InProcessNode(this, name, opts.namespace ?? '/', opts.parameterOverrides ?? {});
    const fqn = node.resolveName('~');
    if (this.nodes.has(fqn)) throw new Error(`InProcessBus: a node named ${fqn} already exists`);
    this.nodes.set(fqn, node);
    return node;
  }

  /** The node with this fully qualified name (e.g. `/naf_trainer`), as `ros2 param set` finds it. */
  node(fqn: string): InProcessNode | undefined {
    return this.nodes.get(fqn);
  }

  /** Delivers every queued message (callbacks may publish more; those are delivered too). */
  spinSome(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 1_000_000) throw new Error('InProcessBus.spinSome: more than 1e6 deliveries; a publish loop?');
      const e = this.queue.shift()!;
      if (e.dropped || !e.sub.alive) continue;
      e.sub.pending.splice(e.sub.pending.indexOf(e), 1);
      (e.sub.cb as (m: unknown, info: MessageInfo) => void)(e.msg, e.info);
    }
  }

  /**
   * Moves the clock forward by `seconds`, firing due timers in time order and delivering
   * messages before and after each timer callback. @throws RangeError when seconds < 0.
   */
  advance(seconds: number): void {
    if (!(seconds >= 0)) throw new RangeError(`InProcessBus.advance: seconds must be >= 0, got ${seconds}`);
    const target = this.tNs + Math.round(seconds * 1e9);
    this.spinSome();
    for (;;) {
      let next: Timer | null = null;
      for (const tm of this.timers) {
        if (!tm.alive || tm.nextNs > target) continue;
        if (!next || tm.nextNs < next.nextNs || (tm.nextNs === next.nextNs && tm.seq < next.seq)) next = tm;
      }
      if (!next) break;
      this.tNs = next.nextNs;
      next.nextNs += next.periodNs;
      next.cb();
      this.spinSome();
    }
    this.tNs = target;
    this.spinSome();
  }

  /** @internal */ log(node: string, level: BusLogRecord['level'], msg: string): void {
    this.logs.push({ node, level, msg, t: this.now() });
    if (this.opts.echoLogs) console.error(`[${level}] [${node}] ${msg}`);
  }

  /** @internal */ addPub(p: Omit<Pub, 'gid'>): Pub {
    const pub = { ...p, gid: (++this.gidSeq).toString(16).padStart(48, '0') };
    this.pubs.push(pub);
    return pub;
  }

  /** @internal */ removePub(p: Pub): void {
    const i = this.pubs.indexOf(p);
    if (i >= 0) this.pubs.splice(i, 1);
  }

  /** Publishers of `topic` (fully qualified) on the bus. */
  countPublishers(topic: string): number {
    return this.pubs.filter((p) => p.topic === topic).length;
  }

  /** @internal */ publish(p: Pub, msg: unknown): void {
    if (p.qos.durability === 'transient_local') {
      p.history.push(wireCopy(msg));
      if (p.history.length > p.qos.depth) p.history.shift();
    }
    for (const s of this.subs) {
      if (s.alive && s.topic === p.topic && s.type === p.type && qosCompatible(p.qos, s.qos)) this.enqueue(s, wireCopy(msg), p.gid);
    }
  }

  /** @internal */ addSub(s: Sub): void {
    this.subs.push(s);
    if (s.qos.durability !== 'transient_local') return;
    for (const p of this.pubs) {
      if (p.topic === s.topic && p.type === s.type && qosCompatible(p.qos, s.qos)) {
        for (const m of p.history) this.enqueue(s, wireCopy(m), p.gid);
      }
    }
  }

  private enqueue(s: Sub, msg: unknown, publisherGid: string): void {
    const e: Entry = { sub: s, msg, info: { publisherGid }, dropped: false };
    s.pending.push(e);
    if (s.pending.length > s.qos.depth) s.pending.shift()!.dropped = true;
    this.queue.push(e);
  }

  /** @internal */ addTimer(node: InProcessNode, periodS: number, cb: () => void): Timer {
    const periodNs = Math.round(periodS * 1e9);
    const t: Timer = { node, periodNs, nextNs: this.tNs + periodNs, cb, seq: this.timerSeq++, alive: true };
    this.timers.push(t);
    return t;
  }

  /** @internal */ addService(name: string, type: string, node: InProcessNode, handler: Handler): void {
    if (this.services.has(name)) throw new Error(`InProcessBus: service ${name} already exists`);
    this.services.set(name, { type, node, handler });
  }

  /** @internal */ async call(name: string, type: string, req: unknown): Promise<unknown> {
    await Promise.resolve();
    const srv = this.services.get(name);
    if (!srv) throw new Error(`service ${name} is not available`);
    if (srv.type !== type) throw new Error(`service ${name} has type ${srv.type}, not ${type}`);
    return wireCopy(await srv.handler(wireCopy(req)));
  }

  /** @internal */ removeNode(node: InProcessNode): void {
    for (const s of this.subs) if (s.node === node) s.alive = false;
    for (const t of this.timers) if (t.node === node) t.alive = false;
    for (const [k, v] of this.services) if (v.node === node) this.services.delete(k);
    for (let i = this.pubs.length - 1; i >= 0; i--) if (this.pubs[i].node === node) this.pubs.splice(i, 1);
    this.nodes.delete(node.resolveName('~'));
  }
}

interface Param { value: ParameterValue; descriptor: ParameterDescriptor }

/** A node on an `InProcessBus`. */
export class InProcessNode implements RosNode {
  readonly logger: RosLogger;
  private readonly params = new Map<string, Param>();
  private readonly onSet: OnSetParametersCallback[] = [];
  private readonly postSet: PostSetParametersCallback[] = [];

  /** @internal use `InProcessBus.createNode` */
  constructor(
    private readonly bus: InProcessBus,
    readonly name: string,
    readonly namespace: string,
    private readonly overrides: Record<string, ParameterValue>,
  ) {
    const fqn = this.resolveName('~');
    this.logger = {
      debug: (m) => bus.log(fqn, 'debug', m),
      info: (m) => bus.log(fqn, 'info', m),
      warn: (m) => bus.log(fqn, 'warn', m),
      error: (m) => bus.log(fqn, 'error', m),
    };
  }

  now(): number {
    return this.bus.now();
  }

  resolveName(name: string): string {
    return expandName(name, this.name, this.namespace);
  }

  /** A publisher; `destroy()` removes it from the graph (as rclnodejs `destroyPublisher` does). */
  createPublisher<K extends MessageTypeName>(type: K, topic: string, qos: QosName | QosSpec): RosPublisher<MessageTypes[K]> & { destroy(): void } {
    const p = this.bus.addPub({ node: this, topic: this.resolveName(topic), type, qos: qosSpec(qos), history: [] });
    return { topic: p.topic, publish: (msg) => this.bus.publish(p, msg), destroy: () => this.bus.removePub(p) };
  }

  createSubscription<K extends MessageTypeName>(
    type: K, topic: string, qos: QosName | QosSpec, callback: (msg: MessageTypes[K], info: MessageInfo) => void,
  ): RosSubscription {
    const s: Sub = { node: this, topic: this.resolveName(topic), type, qos: qosSpec(qos), cb: callback as (m: never, info: MessageInfo) => void, pending: [], alive: true };
    this.bus.addSub(s);
    return { topic: s.topic, destroy: () => { s.alive = false; } };
  }

  countPublishers(topic: string): number {
    return this.bus.countPublishers(this.resolveName(topic));
  }

  /** @throws RangeError when the period is not a positive finite number of seconds. */
  createTimer(periodS: number, callback: () => void): RosTimer {
    if (!(periodS > 0 && Number.isFinite(periodS))) throw new RangeError(`createTimer: period must be > 0 s, got ${periodS}`);
    const t = this.bus.addTimer(this, periodS, callback);
    return { period: periodS, cancel: () => { t.alive = false; } };
  }

  createService<S extends ServiceTypeName>(
    type: S, name: string,
    handler: (request: ServiceTypes[S]['request']) => ServiceTypes[S]['response'] | Promise<ServiceTypes[S]['response']>,
  ): void {
    this.bus.addService(this.resolveName(name), type, this, handler as Handler);
  }

  createClient<S extends ServiceTypeName>(type: S, name: string): RosClient<S> {
    const service = this.resolveName(name);
    return {
      service,
      call: (req) => this.bus.call(service, type, req) as Promise<ServiceTypes[S]['response']>,
    };
  }

  declareParameter(name: string, defaultValue: ParameterValue, descriptor: ParameterDescriptor): ParameterValue {
    if (this.params.has(name)) throw new Error(`parameter '${name}' has already been declared`);
    const given = name in this.overrides ? this.overrides[name] : defaultValue;
    const checked = checkParameterValue(name, given, descriptor);
    if ('reason' in checked) throw new Error(checked.reason);
    const veto = this.runOnSet([{ name, value: checked.value }]);
    if (veto) throw new Error(veto);
    this.params.set(name, { value: checked.value, descriptor: { ...descriptor, description: describeWithRange(descriptor) } });
    return checked.value;
  }

  getParameter(name: string): ParameterValue {
    const p = this.params.get(name);
    if (!p) throw new Error(`parameter '${name}' is not declared`);
    return Array.isArray(p.value) ? ([...p.value] as ParameterValue) : p.value;
  }

  hasParameter(name: string): boolean {
    return this.params.has(name);
  }

  /** The stored descriptor (description includes the range), as `ros2 param describe` shows. */
  describeParameter(name: string): ParameterDescriptor | undefined {
    return this.params.get(name)?.descriptor;
  }

  setParameters(updates: ParameterUpdate[]): SetParametersResult {
    const checked: ParameterUpdate[] = [];
    for (const u of updates) {
      const c = refusal(u.name, u.value, this.params.get(u.name)?.descriptor, this.resolveName('~'), this.params.keys());
      if ('reason' in c) return { successful: false, reason: c.reason };
      checked.push({ name: u.name, value: c.value });
    }
    const veto = this.runOnSet(checked);
    if (veto) return { successful: false, reason: veto };
    for (const u of checked) this.params.get(u.name)!.value = u.value;
    for (const cb of this.postSet) cb(checked);
    return { successful: true, reason: '' };
  }

  addOnSetParametersCallback(callback: OnSetParametersCallback): void {
    this.onSet.unshift(callback);
  }

  addPostSetParametersCallback(callback: PostSetParametersCallback): void {
    this.postSet.unshift(callback);
  }

  destroy(): void {
    this.bus.removeNode(this);
  }

  private runOnSet(updates: ParameterUpdate[]): string | null {
    for (const cb of this.onSet) {
      const r = cb(updates);
      if (!r.successful) return r.reason || 'rejected by an on-set-parameters callback';
    }
    return null;
  }
}
