"""naf_trainer on a physical arm (this node only; the robot's ros2_control stack runs elsewhere).

    ros2 launch naf_ros hardware.launch.py \
        max_on_policy_fraction:=0.2 on_policy_fraction:=0.1 max_effort:=0.3 \
        state_timeout_ms:=50.0 velocity_limit:=4.0 soft_limit_margin:=0.2

    Your arm: params_file:=/abs/my_arm.yaml (joints, task.tip_link, task.home_pose, targets,
    safety.gravity_compensation, ...) and urdf:=/abs/my_arm.urdf.xacro (URDF or xacro; expanded
    with xacro into <run_dir>/<robot_name>.urdf and given to naf_trainer as urdf_path; default:
    the params file's urdf_path). The URDF must be the robot the driver runs: its inertials give
    the gravity compensation, its limits the torque clamp.

SAFETY PARAMETERS (read-only once the node runs; `ros2 param set` on them is rejected):
  max_on_policy_fraction  cap on p, the fraction of episodes run by the learned (NAF) policy; the
                          rest run the iLQG controller under the fitted model. The safety engineer
                          sets it; on_policy_fraction can be changed at run time only up to it.
  max_effort              torque cap, N*m, applied as min with each joint's URDF effort limit
  state_timeout_ms        joint states older than this -> zero torque, episode aborted
  velocity_limit          rad/s; above it torque that accelerates the joint further is removed
  soft_limit_margin       rad inside the URDF position limits; torque pushing further out removed
  damping_injection       where the control law's -D qd runs: hardware (default: YOUR ROBOT'S
                          DRIVER must apply it -- joint-impedance mode, stiffness 0, damping D as
                          `naf-ros arm --config <params file>` prints and the node logs at start),
                          node (naf_trainer adds it at control_rate_hz; refused where unstable), none
E-stop: publish std_msgs/msg/Bool true (transient local) on /naf_trainer/estop (`estop_topic`);
zero torque until the topic reads false AND `ros2 service call /naf_trainer/resume std_srvs/srv/Trigger`.
The safety launch arguments override the params file (default config/naf_trainer_hardware.yaml,
whose values are the ones listed below) when given; the values in force are logged at start.
Run: params_file, run_dir; resume:=<run folder> continues a run (newest checkpoint, episode
count); episodes:=N sets the run's total budget (training.episodes; default the params file's);
rt_priority:=50 (default) runs the node's threads but the learner at SCHED_FIFO 50, as ros2_control
(needs CAP_SYS_NICE or an rtprio limit, else a warning; 0 = normal scheduling).
"""
import os
import sys

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# Every process of this launch dies with it: `ros2 launch` stopped by SIGTERM or SIGKILL (a script, a
# service manager) exits without stopping its processes; PR_SET_PDEATHSIG, set by util-linux's
# `setpriv`, sends each one SIGTERM when the launch is gone. Ctrl-C still stops them in order.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from naf_launch_common import (  # noqa: E402
    PDEATH, enclave_args, enclaves_argument, run_overrides,
)

# (launch argument, ROS parameter, value in config/naf_trainer_hardware.yaml, type, description) -- safety first.
SAFETY = [
    ('max_on_policy_fraction', 'model_based.max_on_policy_fraction', '0.2', float, 'cap on p (read-only)'),
    ('on_policy_fraction', 'model_based.on_policy_fraction', '0.1', float, 'p at start, <= max_on_policy_fraction'),
    ('max_effort', 'safety.max_effort', '0.3', float, 'torque cap, N*m (min with URDF effort limits)'),
    ('state_timeout_ms', 'safety.state_timeout_ms', '50.0', float, 'joint-state watchdog, ms'),
    ('velocity_limit', 'safety.velocity_limit', '4.0', float, 'joint speed limit, rad/s'),
    ('soft_limit_margin', 'safety.soft_limit_margin', '0.2', float, 'soft limits inside URDF limits, rad'),
    ('homing_max_effort', 'safety.homing_max_effort', '0.05', float, 'homing torque cap, N*m'),
    ('damping_injection', 'safety.damping_injection', 'hardware', str, 'where -D qd runs: hardware (the driver applies the D naf-ros arm prints) | node | none'),
]
TOPICS = [
    ('joint_states_topic', 'ros.joint_states_topic', '/joint_states', str, 'sensor_msgs/msg/JointState input'),
    ('effort_command_topic', 'ros.effort_command_topic', '/effort_controller/commands', str, 'Float64MultiArray torque output'),
    ('estop_topic', 'ros.estop_topic', '~/estop', str, 'std_msgs/msg/Bool latched e-stop'),
]


def _trainer(context):
    """naf_trainer: the params file, then the safety/topic launch arguments that were given, then the expanded URDF."""
    params = {'run_dir': LaunchConfiguration('run_dir').perform(context),
              'use_sim_time': LaunchConfiguration('use_sim_time').perform(context).lower() == 'true',
              'ros.rt_priority': int(LaunchConfiguration('rt_priority').perform(context))}
    given = []
    for arg, name, _, kind, _ in SAFETY + TOPICS:
        value = LaunchConfiguration(arg).perform(context)
        if value != '':
            params[name] = kind(value)
            given.append(f'{arg}={value}')
    urdf = LaunchConfiguration('urdf').perform(context)
    if urdf:
        import xacro  # ROS's xacro package (exec_depend); imported here so the file parses without it
        os.makedirs(params['run_dir'], exist_ok=True)
        expanded = os.path.join(params['run_dir'], LaunchConfiguration('robot_name').perform(context) + '.urdf')
        with open(expanded, 'w') as f:
            f.write(xacro.process_file(urdf).toxml())
        params['urdf_path'] = expanded
    params_file = LaunchConfiguration('params_file').perform(context)
    return [
        LogInfo(msg=f'naf_trainer: params file {params_file}; overridden by launch arguments: {", ".join(given) or "none"}'
                    + (f'; URDF {urdf}' if urdf else '')),
        Node(prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'naf_trainer'), name='naf_trainer', output='screen', parameters=[params_file, {**params, **run_overrides(context)}]),
    ]


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [DeclareLaunchArgument(a, default_value='', description=f'{desc} (default: the params file value)') for a, _, _, _, desc in SAFETY + TOPICS]
    args += [
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'naf_trainer_hardware.yaml'),
                              description='naf_trainer params file (absolute path)'),
        DeclareLaunchArgument('urdf', default_value='',
                              description="the arm's URDF or xacro (absolute path); '' = urdf_path of the params file"),
        DeclareLaunchArgument('robot_name', default_value='robot', description='name of the expanded URDF file'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for run logs and checkpoints'),
        DeclareLaunchArgument('use_sim_time', default_value='false'),
        DeclareLaunchArgument('resume', default_value='', description='run folder to resume; empty = new run'),
        DeclareLaunchArgument('episodes', default_value='', description='total episode budget (training.episodes); empty = the params file\'s'),
        DeclareLaunchArgument('rt_priority', default_value='50',
                              description='SCHED_FIFO priority of the node\'s threads but the learner, as ros2_control\'s thread_priority (needs CAP_SYS_NICE); 0 = normal'),
    ]
    return LaunchDescription(args + [enclaves_argument(), OpaqueFunction(function=_trainer)])
