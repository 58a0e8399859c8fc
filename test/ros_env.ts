/**
 * For the tests that run against real ROS 2 (ros_contract, viz_mcap_ros, gazebo_contract,
 * ros_security): an rclnodejs context, or the reason the test is skipped where rclnodejs does not
 * load (no sourced ROS 2, not installed), printed the same way by every one of them.
 */
import { RclnodejsContext } from '../src/ros/transport/rclnodejs_transport.js';

/** "rclnodejs not loadable: <first line of the error>". */
export function rclnodejsSkip(e: unknown): string {
  return `rclnodejs not loadable: ${(e as Error).message.split('\n')[0].replace(/^rclnodejs not loadable: /, '')}`;
}

/** An rclnodejs context for the test file `name` (log level warn), or null and the reason to skip. */
export async function rclnodejsOrSkip(name: string): Promise<{ ctx: RclnodejsContext | null; skip: string }> {
  try {
    return { ctx: await RclnodejsContext.init([process.argv[0], name, '--ros-args', '--log-level', 'warn']), skip: '' };
  } catch (e) {
    return { ctx: null, skip: rclnodejsSkip(e) };
  }
}
