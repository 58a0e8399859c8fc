/**
 * What a node does with the stop signals it receives (SIGINT, SIGTERM, its parent gone):
 * the first starts the stop (zero torque, the learner closed, a checkpoint); repeats within
 * `graceMs` are part of the same stop and ignored; a repeat after that forces the exit.
 *
 * Why the grace: one Ctrl-C usually arrives twice. A terminal sends SIGINT to the whole process
 * group (ros2 launch and every node), and ros2 launch, when not attached to a terminal (started
 * by a script or a service manager), sends its own SIGINT to each process as well; a node that
 * took the second one for an impatient user would exit before publishing zero torque and saving.
 */
export type StopDecision = 'stop' | 'ignore' | 'force';

export class StopSignals {
  private firstAt = NaN;

  /** @param graceMs repeats within this time of the first signal are ignored, ms */
  constructor(private readonly graceMs = 3000) {}

  /** @param now ms (any monotonic clock) */
  onSignal(now: number): StopDecision {
    if (Number.isNaN(this.firstAt)) {
      this.firstAt = now;
      return 'stop';
    }
    return now - this.firstAt < this.graceMs ? 'ignore' : 'force';
  }
}
