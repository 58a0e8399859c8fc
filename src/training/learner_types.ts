/**
 * What the actor and the learner tell each other, whichever side of a thread or a network they
 * are on: the end of an episode (actor -> learner), the learner's figures (learner -> actor) and
 * the checkpoint a learner resumed from. A module of its own so that the learner
 * (`learner_session.ts`), its clients (`learner_client.ts`, `fleet_client.ts`) and the ROS nodes
 * all import these from below, never from each other.
 */
import type { RefitReport } from './learner.js';
import type { HealthWarning } from './learning_health.js';
import type { EpisodeInterventions } from '../safety/supervised_arm.js';
import type { ThreadStatus } from '../agent/types.js';

/** Levels of the learner's log lines (the learner's thread has no logger: the node logs them). */
export type LogLevel = 'info' | 'warn' | 'error';

export interface EpisodeEnd {
  controller: 'naf' | 'ilqg';
  return: number;
  /** Ended early (watchdog, e-stop, pause): kept in R, excluded from the model fit. */
  aborted: boolean;
  /**
   * What the actor saw of the episode, for the run folder's record (absent: not recorded):
   * fingertip-to-target distance at its end, m; its control steps; the control steps in which the
   * safety supervisor changed the command, by rule.
   */
  finalDistance?: number;
  steps?: number;
  interventions?: EpisodeInterventions;
  /** The arm in a fleet (its actor's namespace), for the record. */
  arm?: string;
}

export interface LearnerStats {
  /** Wall clock when the stats were taken, ms (Date.now). */
  at: number;
  episodes: number;
  steps: number;
  updates: number;
  imaginedTotal: number;
  lastReturn: number;
  divergences: number;
  /** Real steps that trained nothing because the learner was behind real time (cumulative). */
  skippedSteps: number;
  /** The minibatch updates those steps would have made (I, plus I·l from R_f while imagining; cumulative). */
  shedUpdates: number;
  /** Learner lag over the transitions since the previous stats: mean and max, ms; count of them. */
  lagMeanMs: number;
  lagMaxMs: number;
  lagSamples: number;
  /**
   * Checkpoints written in the run, all sessions (a resumed learner continues the count of the
   * checkpoint it resumed from; one written before the count was kept counts as 1), and the wall
   * time of this session's last one, ms (NaN before the first).
   */
  checkpoints: number;
  checkpointMs: number;
  /** Model refits so far, and their iLQG steps not installed because they broke the KL trust region. */
  refits: number;
  ilqgRejected: number;
  /** The newest refit's report (its `accepted` says whether its iLQG step was installed). */
  refit: RefitReport | null;
  /**
   * Learning-health warnings active now (`learning_health.ts`: model error, TD loss, Q range, on
   * every completed episode; the greedy-distance check needs evaluations, which the node does not
   * run). Absent from learners that do not check.
   */
  warnings?: HealthWarning[];
  /**
   * The threads of one NAF update (`agent.learner_threads`): in use, head-worker failures, whether
   * the update fell back to one thread for good. Absent from learners that do not report it.
   */
  threads?: ThreadStatus;
}

/** What a session restored from (`ros.resume`): the checkpoint folder and the episode counts in it. */
export interface ResumeInfo {
  checkpoint: string;
  /** Episodes the node completed (ran to the horizon) and aborted before the checkpoint. */
  completed: number;
  aborted: number;
}
