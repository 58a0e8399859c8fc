/**
 * Real-time scheduling of this process's threads: SCHED_FIFO at `priority` for every thread of
 * the process (the JS main thread that runs the control timer, rclnodejs's executor thread, the
 * DDS threads, libuv's and V8's helpers) except the ones named, which go back to SCHED_OTHER (the
 * learner thread keeps its nice value and takes the CPU that is left). This is what ros2_control's
 * controller_manager does for its update thread (`thread_priority`, 50): on a loaded machine the
 * control loop then runs when its timer is due instead of when the scheduler gets to it.
 *
 * Linux only; needs CAP_SYS_NICE or an rtprio limit (`/etc/security/limits.conf`,
 * `@realtime - rtprio 98`, as ros2_control's real-time setup describes). Uses util-linux `chrt`.
 */
import { execFileSync } from 'node:child_process';

export type Run = (cmd: string, args: string[]) => void;

const chrt: Run = (cmd, args) => { execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 }); };

/**
 * Applies the policy and returns the line to log (what was done, or why nothing was).
 * @param priority 1..99 (SCHED_FIFO priority); 0 = leave the scheduling as it is
 * @param exceptTids thread ids to return to SCHED_OTHER (the learner)
 * @param what name of the setting for the message (`ros.rt_priority`)
 */
export function applyRealtime(priority: number, exceptTids: number[], what: string, run: Run = chrt, pid = process.pid): { ok: boolean; message: string } {
  if (priority === 0) return { ok: true, message: `${what} 0: threads at normal scheduling` };
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) return { ok: false, message: `${what} must be an integer in [0, 99]; got ${priority}` };
  try {
    run('chrt', ['-a', '-f', '-p', String(priority), String(pid)]);
    for (const tid of exceptTids) run('chrt', ['-o', '-p', '0', String(tid)]);
    return { ok: true, message: `${what} ${priority}: the threads of process ${pid} run SCHED_FIFO ${priority}${exceptTids.length ? `, except thread(s) ${exceptTids.join(', ')} (learner: SCHED_OTHER)` : ''}` };
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const why = (err.stderr?.toString().trim() || err.message).split('\n')[0];
    return { ok: false, message: `${what} ${priority} not applied, threads stay at normal scheduling: ${why} (needs CAP_SYS_NICE or an rtprio limit, and util-linux chrt)` };
  }
}
