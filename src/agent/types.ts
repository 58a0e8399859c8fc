/**
 * Contracts of the learning agents (NAF, DDPG) and of the actor that runs their policy.
 *
 * The learner owns the tfjs networks; the actor (control loop, possibly another thread) gets a
 * plain-array `PolicySnapshot` and evaluates mu(x) (and, for NAF, L(x)) without tfjs.
 * Shapes: dX observation size, dU action size, B batch size. Actions are torques, N·m.
 */
import type { DenseWeights } from '../nn/mlp.js';

export type { DenseWeights };

/** A minibatch of transitions (x, u, r, x', terminal), row-major float32. */
export interface TransitionBatch {
  /** [B*dX] */
  x: Float32Array;
  /** [B*dU] N·m */
  u: Float32Array;
  /** [B] */
  r: Float32Array;
  /** [B*dX] */
  x2: Float32Array;
  /**
   * [B] 1 where x' is a true terminal state (no bootstrap), 0 otherwise. Episodes ended by the
   * time limit are truncated, not terminal: they have 0 here and bootstrap through V'(x').
   */
  terminal: Float32Array;
  B: number;
}

export interface UpdateStats {
  /** Mean squared Bellman error of the minibatch (before the step). */
  loss: number;
  /** Mean Q(x, u) of the minibatch. */
  qMean: number;
  /** True when the divergence guard skipped this update (non-finite loss or weights). */
  skipped: boolean;
}

/** Everything an actor needs to evaluate the policy without tfjs. JSON/structured-clone safe. */
export interface PolicySnapshot {
  kind: 'naf' | 'ddpg';
  dX: number;
  dU: number;
  /** [dU] N·m action bound, mu = uMax * tanh(.). */
  uMax: Float64Array;
  /** Monotone counter of the learner's updates when the snapshot was taken. */
  version: number;
  /** Network parameters by head name (e.g. 'mu', 'L', 'V', or 'trunk'); layout is the agent's. */
  heads: Record<string, DenseWeights[]>;
  /** Agent-specific options the forward pass needs (activation, shared trunk, batch-norm stats). */
  meta: Record<string, unknown>;
}

/** Plain-JS policy evaluation from a snapshot (see `src/agent/actor.ts`). */
export interface PolicyActor {
  readonly snapshot: PolicySnapshot;
  /** Greedy action mu(x) [dU] N·m for one observation x [dX]. */
  mu(x: Float64Array): Float64Array;
  /**
   * NAF only: the lower-triangular L(x) [dU*dU] row-major with P(x) = L L^T (paper Sec. 4);
   * undefined for DDPG.
   */
  choleskyP?(x: Float64Array): Float64Array;
}

/** A Q-learning agent trained from minibatches (paper Algorithm 1's update). */
export interface QAgent {
  readonly kind: 'naf' | 'ddpg';
  readonly dX: number;
  readonly dU: number;
  /** One gradient step on the batch and one soft target update theta' <- tau theta + (1-tau) theta'. */
  update(batch: TransitionBatch): UpdateStats;
  /** Greedy actions for N observations at once (imagination rollouts): x [N*dX] -> mu [N*dU]. */
  actBatch(x: Float32Array, N: number): Float32Array;
  /** V(x) for N observations (NAF: the V head; DDPG: Q(x, mu(x))). [N*dX] -> [N]. */
  valueBatch(x: Float32Array, N: number): Float32Array;
  /** Plain-array copy of the current (online) policy for an actor: exploration. */
  snapshot(): PolicySnapshot;
  /**
   * The greedy policy to evaluate, test and deploy: the policy-averaged weights when
   * `agent.policy_averaging` is on (`averagePolicy`), else the same as `snapshot()`.
   */
  greedySnapshot(): PolicySnapshot;
  /**
   * Policy averaging, once per real episode: the bias-corrected exponential average of the online
   * weights, started at the first episode with updates (`LearnerBase.averagePolicy`).
   */
  averagePolicy(beta: number): void;
  /** Linux thread ids of worker threads the agent runs itself (NAF's two-thread update), else []. */
  helperThreadIds(): number[];
  /** The threads of one update now (NAF's head worker: failures, restarts, the one-thread fallback). */
  threadStatus(): ThreadStatus;
  /**
   * What the agent has to tell the user since the last call (NAF's head worker failed, restarted,
   * was given up), oldest first; each notice is returned once. The owner logs them.
   */
  takeNotices(): AgentNotice[];
  /** Complete learner state (weights, target weights, optimizer moments and step) for checkpoints. */
  getState(): Promise<AgentState>;
  /** Restores `getState()` output. @throws Error naming the mismatch when shapes differ. */
  setState(state: AgentState): Promise<void>;
  /** Number of updates applied. */
  readonly updates: number;
  /** Divergence-guard interventions so far (skipped updates, restored weights). */
  readonly divergences: number;
  dispose(): void;
}

/** Serialisable agent state: named float32 tensors plus scalars. */
export interface AgentState {
  kind: 'naf' | 'ddpg';
  tensors: { name: string; shape: number[]; data: Float32Array }[];
  scalars: Record<string, number>;
}

/** Exploration noise N_t added to the controller's action (Algorithm 1/2, "u_t = mu'(x_t) + N_t"). */
export interface ExplorationNoise {
  /** Start of an episode: resets the process state (OU). */
  reset(): void;
  /**
   * Noise [dU] N·m for this step. `choleskyP` (NAF's L(x), row-major [dU*dU]) is given when the
   * actor has it, for the precision-shaped noise N(0, c P(x)^-1) (paper appendix 8.2).
   */
  sample(choleskyP?: Float64Array): Float64Array;
  /** Serialisable process state (OU's current value), for checkpoints. */
  getState(): number[];
  setState(s: number[]): void;
}

/** Something the agent tells the user once (`QAgent.takeNotices`): a log line. */
export interface AgentNotice {
  level: 'info' | 'warn' | 'error';
  /** one line for the log */
  text: string;
  /** more (e.g. a worker's stack trace), for a debug log */
  detail?: string;
}

/** The threads of one update (`QAgent.threadStatus`; `agent.learner_threads`). */
export interface ThreadStatus {
  /** threads asked for (agent.learner_threads) */
  configured: number;
  /** threads the next update uses: 1 while the head worker is being restarted or was given up */
  inUse: number;
  /** head-worker failures so far (exceptions, deaths, timeouts, failed restarts) */
  workerFailures: number;
  /** true once the worker failed repeatedly and updates stay on one thread */
  oneThreadForGood: boolean;
}
