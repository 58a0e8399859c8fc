/**
 * Real-time scheduling of this process's threads: SCHED_FIFO at `priority` for the JS main thread
 * that runs the control timer, rclnodejs's executor thread and the DDS threads; SCHED_OTHER for the
 * learner's threads (they keep their nice value and take the CPU that is left) and for Node's own
 * helper threads, the ones that exist when this module loads (V8's platform workers and the like).
 * Those run garbage collection and compilation for every isolate of the process, the learner's
 * worker threads included: at SCHED_FIFO they would run the learner's background work at the control
 * loop's priority (FIFO does not time-slice between equal priorities) and, waiting on the
 * SCHED_OTHER learner thread, can hold both cores of a 2-core machine: with `rt_priority` 50 for
 * all threads, a 44 s stall of every process on the machine was measured over DDS (2026-11-26).
 * This is what ros2_control's controller_manager does for its update thread
 * (`thread_priority`, 50): on a loaded machine the control loop then runs when its timer is due
 * instead of when the scheduler gets to it.
 *
 * Linux only; needs CAP_SYS_NICE or an rtprio limit (`/etc/security/limits.conf`,
 * `@realtime - rtprio 98`, as ros2_control's real-time setup describes). Uses util-linux `chrt`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** Thread ids of this process (Linux `/proc/self/task`); [] elsewhere. */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}
/** The threads of this process when this module loaded (before ROS, DDS and the learner start). */
const startupThreads = threadIds();

/** Node's own helper threads (V8 platform workers and the like): the startup threads but the main thread. */
export function nodeHelperThreads(pid = process.pid): number[] {
  return startupThreads.filter((t) => t !== pid);
}

export type Run = (cmd: string, args: string[]) => void;

const chrt: Run = (cmd, args) => { execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 }); };

/**
 * Applies the policy and returns the line to log (what was done, or why nothing was). Call it
 * after every thread exists (executor, DDS, learner): threads started later inherit their
 * creator's policy.
 * @param priority 1..99 (SCHED_FIFO priority); 0 = leave the scheduling as it is
 * @param exceptTids thread ids to return to SCHED_OTHER (the learner)
 * @param what name of the setting for the message (`ros.rt_priority`)
 * @param helperTids Node's helper threads, also returned to SCHED_OTHER (default: `nodeHelperThreads()`)
 */
export function applyRealtime(priority: number, exceptTids: number[], what: string, run: Run = chrt, pid = process.pid, helperTids: number[] = nodeHelperThreads(pid)): { ok: boolean; message: string } {
  if (priority === 0) return { ok: true, message: `${what} 0: threads at normal scheduling` };
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) return { ok: false, message: `${what} must be an integer in [0, 99]; got ${priority}` };
  try {
    run('chrt', ['-a', '-f', '-p', String(priority), String(pid)]);
    for (const tid of [...exceptTids, ...helperTids]) run('chrt', ['-o', '-p', '0', String(tid)]);
    const except = [
      ...(exceptTids.length ? [`thread(s) ${exceptTids.join(', ')} (learner)`] : []),
      ...(helperTids.length ? [`${helperTids.length} Node helper thread(s) (V8 platform workers: garbage collection and compilation, the learner's too)`] : []),
    ];
    return { ok: true, message: `${what} ${priority}: the threads of process ${pid} run SCHED_FIFO ${priority}${except.length ? `, except ${except.join(' and ')}: SCHED_OTHER` : ''}` };
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const why = (err.stderr?.toString().trim() || err.message).split('\n')[0];
    return { ok: false, message: `${what} ${priority} not applied, threads stay at normal scheduling: ${why} (needs CAP_SYS_NICE or an rtprio limit, and util-linux chrt)` };
  }
}
