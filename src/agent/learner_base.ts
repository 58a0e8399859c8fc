/**
 * What NAF and DDPG share around their gradient step: the variable store layout, the guarded
 * update transaction (`guard.ts`), counters, learning rates, and checkpoint state.
 *
 * Store layout (also the `AgentState` tensor names):
 *   online/<param>            trainable weights
 *   adam_m/<param>, adam_v/<param>   Adam moments of each online weight
 *   target/<param>            target-network copy of the weights the Bellman target uses
 *   bn/<stat>                 batch-norm running mean/variance of the online networks
 * Scalars: dX, dU, updates, divergences, adam_t and one entry per learning rate.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_DEFAULTS, type AdamConfig } from './adam.js';
import { readScalars } from './agent_options.js';
import { batchIsFinite, GuardedStore, nonFiniteProbe, validateBatch } from './guard.js';
import type { AgentState, TransitionBatch, UpdateStats } from './types.js';
import { VarStore, type TensorInit } from './var_store.js';

/** What one update step proposes (tensors created inside the update's `tf.tidy`). */
export interface StepProposal {
  /** new values by store name; committed together or not at all */
  proposal: Map<string, tf.Tensor>;
  /** scalar loss reported in `UpdateStats.loss` */
  loss: tf.Tensor;
  /** scalar mean Q(x, u) of the minibatch */
  qMean: tf.Tensor;
}

export abstract class LearnerBase {
  protected readonly store = new VarStore();
  protected readonly guard = new GuardedStore(this.store);
  /** Adam step count (shared by all optimised networks: each steps once per update) */
  protected adamT = 0;
  private nUpdates = 0;
  private nDivergences = 0;

  /** discount */
  protected readonly gamma: number;
  /** soft target rate */
  protected readonly tau: number;
  /** global gradient-norm clip per network, 0 = off */
  protected readonly gradClipNorm: number;
  protected readonly adam: AdamConfig;

  /**
   * @param lrs named learning rates (e.g. { lr } or { actor_lr, critic_lr }), decayed together
   * @param lrDecay multiplier applied to every learning rate at each rollback, in (0, 1]
   * @param h the hyper-parameters both agents share (Adam: Kingma & Ba's defaults where not given)
   */
  protected constructor(
    readonly kind: 'naf' | 'ddpg',
    readonly dX: number,
    readonly dU: number,
    protected readonly lrs: Record<string, number>,
    private readonly lrDecay: number,
    h: { gamma: number; tau: number; gradClipNorm: number; adam?: Partial<AdamConfig> },
  ) {
    this.gamma = h.gamma;
    this.tau = h.tau;
    this.gradClipNorm = h.gradClipNorm;
    this.adam = { ...ADAM_DEFAULTS, ...h.adam };
    const who = kind === 'naf' ? 'NafAgent' : 'DdpgAgent';
    if (!(lrDecay > 0 && lrDecay <= 1)) throw new Error(`${who}: divergence.lrDecay must be in (0, 1], got ${lrDecay}`);
  }

  get updates(): number {
    return this.nUpdates;
  }

  get divergences(): number {
    return this.nDivergences;
  }

  /**
   * Registers parameters (online, zero Adam moments, target copies of `targetNames`, theta' <- theta)
   * and batch-norm statistics.
   */
  protected addParams(params: TensorInit[], stats: TensorInit[], targetNames: string[]): void {
    for (const p of params) {
      this.store.add({ ...p, name: `online/${p.name}` }, true);
      this.store.add({ ...p, name: `adam_m/${p.name}`, data: new Float32Array(p.data.length) }, false);
      this.store.add({ ...p, name: `adam_v/${p.name}`, data: new Float32Array(p.data.length) }, false);
    }
    for (const p of params) if (targetNames.includes(p.name)) this.store.add({ ...p, name: `target/${p.name}` }, false);
    for (const s of stats) this.store.add({ ...s, name: `bn/${s.name}` }, false);
  }

  /**
   * Runs one update transaction. `step(t, kept)` builds the proposal inside a `tf.tidy` (t is the
   * Adam step number; tensors it must keep past inner tidies go in `kept` and are disposed here).
   * Committed when loss, qMean and every proposed tensor are finite. Otherwise: a non-finite batch
   * is skipped and counted (the data is at fault, nothing is rolled back); a non-finite step rolls
   * back to the last good state, decays every learning rate by `lrDecay` and is counted.
   * @throws Error when the batch's array sizes do not match dX, dU.
   */
  protected guardedUpdate(batch: TransitionBatch, step: (t: number, kept: tf.Tensor[]) => StepProposal): UpdateStats {
    validateBatch(batch, this.dX, this.dU);
    if (!batchIsFinite(batch)) {
      this.nDivergences++;
      return { loss: NaN, qMean: NaN, skipped: true };
    }
    const t = this.adamT + 1;
    const kept: tf.Tensor[] = [];
    let committed = false;
    let out: number[];
    try {
      out = tf.tidy(() => {
        const s = step(t, kept);
        const probe = nonFiniteProbe([s.loss, s.qMean, ...s.proposal.values()]);
        const v = Array.from(tf.stack([s.loss, s.qMean, probe]).dataSync());
        if (v[2] === 0) {
          this.guard.commit(s.proposal, { adamT: this.adamT });
          committed = true;
        }
        return v;
      });
    } finally {
      for (const k of kept) k.dispose();
    }
    if (committed) {
      this.adamT = t;
      this.nUpdates++;
      return { loss: out[0], qMean: out[1], skipped: false };
    }
    const restored = this.guard.rollback();
    if (restored) this.adamT = restored.adamT;
    for (const k of Object.keys(this.lrs)) this.lrs[k] *= this.lrDecay;
    this.nDivergences++;
    return { loss: out[0], qMean: out[1], skipped: true };
  }

  /** All store tensors plus dX, dU, updates, divergences, adam_t and the learning rates. */
  async getState(): Promise<AgentState> {
    return {
      kind: this.kind,
      tensors: await this.store.toState(),
      scalars: {
        dX: this.dX,
        dU: this.dU,
        updates: this.nUpdates,
        divergences: this.nDivergences,
        adam_t: this.adamT,
        ...this.lrs,
      },
    };
  }

  /**
   * Restores `getState()` output, including decayed learning rates. The rollback point is
   * cleared: the loaded state is the last good one.
   * @throws Error naming the mismatch (kind, dX, dU, a tensor's name or shape, a missing scalar);
   *   nothing is changed then.
   */
  async setState(state: AgentState): Promise<void> {
    const who = this.kind === 'naf' ? 'NafAgent' : 'DdpgAgent';
    const s = readScalars(who, state, this.kind, this.dX, this.dU, ['updates', 'divergences', 'adam_t', ...Object.keys(this.lrs)]);
    this.store.fromState(state.tensors);
    this.guard.forget();
    this.nUpdates = s.updates;
    this.nDivergences = s.divergences;
    this.adamT = s.adam_t;
    for (const k of Object.keys(this.lrs)) this.lrs[k] = s[k];
  }

  /** Frees every tensor of the agent. */
  dispose(): void {
    this.guard.dispose();
  }
}
