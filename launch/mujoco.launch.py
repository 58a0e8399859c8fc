"""naf_trainer against the embedded MuJoCo arm, as two ROS 2 processes.

    ros2 launch naf_ros mujoco.launch.py [params_file:=<yaml>] [run_dir:=<dir>] [sim_rate_hz:=100.0]
                                         [resume:=<run folder>] [episodes:=<total budget>]
                                         [use_sim_time:=true] [rt_priority:=50]

    e.g. the shipped UR5e: params_file:=$(ros2 pkg prefix naf_ros)/share/naf_ros/config/ur5e.yaml

`naf_sim_bridge` exposes the MuJoCo arm exactly as Gazebo + gz_ros2_control would: it publishes
/joint_states (sensor_msgs/msg/JointState) and /clock (simulation time) and applies the
Float64MultiArray torques of /effort_controller/commands (order of its `joints`). `naf_trainer`
runs on simulation time (use_sim_time) and learns against it. The bridge simulates the arm of the
params file (`urdf_path`, a plain URDF; a relative path is relative to the params file's folder;
its collision meshes found through `mesh_search_path`), takes its `joints` as the command order
(the URDF's other joints, e.g. fingers, are simulated, passive) and starts at its `task.home_pose`.
With `safety.damping_injection: hardware` (the default) the bridge plays the robot's own
joint-impedance loop: it adds the params file's damping D to the simulated joints (`joint_damping`,
from `naf-ros arm --json`). Like a real arm, the simulated
one carries its own weight: set `safety.gravity_compensation: model` for an arm gravity loads.
`use_sim_time:=false` runs both on wall time instead, as on a physical arm (no /clock; the bridge
stamps states with its own clock). `resume:=<run folder>` continues a run (its newest checkpoint,
its episode count; parameter `ros.resume`); `episodes:=N` sets the run's total budget
`training.episodes` (default: the params file's), e.g. to extend a finished run. `rt_priority`:
SCHED_FIFO priority of both nodes' threads but the learner (as ros2_control; 0 = normal).
Needs `npm ci` (and rclnodejs) in the naf_ros source folder before `colcon build`.
"""
import os
import sys

import yaml
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

# Every process of this launch dies with it: `ros2 launch` stopped by SIGTERM or SIGKILL (a script, a
# service manager) exits without stopping its processes; PR_SET_PDEATHSIG, set by util-linux's
# `setpriv`, sends each one SIGTERM when the launch is gone. Ctrl-C still stops them in order.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from naf_launch_common import (  # noqa: E402
    PDEATH, enclave_args, enclaves_argument, trainer_parameters, run_overrides, robot_damping,
)


def _nodes(context):
    share = get_package_share_directory('naf_ros')
    params_file = LaunchConfiguration('params_file').perform(context)
    p = trainer_parameters(params_file)
    urdf = p.get('urdf_path', 'urdf/reacher3.urdf')
    if not os.path.isabs(urdf):
        # relative to the params file that sets it, as the node resolves it (the default: to the package)
        urdf = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(params_file)) if 'urdf_path' in p else share, urdf))
    # mesh_search_path: folders of ROS packages for the URDF's package:// meshes, relative to the params file
    meshes = [os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(params_file)), d)) for d in p.get('mesh_search_path', [])]
    joints = list(p.get('joints', ['joint1', 'joint2', 'joint3']))
    home = [float(v) for v in (p.get('task') or {}).get('home_pose', [0.0, 0.8, 0.8])]
    bridge = Node(
        prefix=PDEATH, package='naf_ros', executable='naf_sim_bridge', ros_arguments=enclave_args(context, 'naf_sim_bridge'), name='naf_sim_bridge', output='screen',
        parameters=[{
            'urdf_path': urdf,
            **({'mesh_search_path': meshes} if meshes else {}),
            'joints': joints,
            'rate_hz': ParameterValue(LaunchConfiguration('sim_rate_hz'), value_type=float),
            'initial_positions': home,
            'publish_clock': ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool),
            'command_timeout_ms': 500.0,
            'rt_priority': ParameterValue(LaunchConfiguration('rt_priority'), value_type=int),
            'joint_damping': robot_damping(params_file, urdf),
        }],
    )
    trainer = Node(
        prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'naf_trainer'), name='naf_trainer', output='screen',
        parameters=[params_file, {
            'use_sim_time': ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool),
            'run_dir': LaunchConfiguration('run_dir'),
            'urdf_path': urdf,
            **({'mesh_search_path': meshes} if meshes else {}),
            'ros.rt_priority': ParameterValue(LaunchConfiguration('rt_priority'), value_type=int),
            **run_overrides(context),
        }],
    )
    return [bridge, trainer]


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [
        enclaves_argument(),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'reacher.yaml'),
                              description='naf_trainer params file (absolute path); the bridge simulates its urdf_path'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for run logs and checkpoints'),
        DeclareLaunchArgument('sim_rate_hz', default_value='100.0',
                              description='MuJoCo physics/joint_states rate, Hz'),
        DeclareLaunchArgument('use_sim_time', default_value='true',
                              description='true: the bridge publishes /clock and the trainer runs on it; false: both on wall time'),
        DeclareLaunchArgument('rt_priority', default_value='50',
                              description='SCHED_FIFO priority of both nodes\' threads but the learner (as ros2_control; needs CAP_SYS_NICE, else a warning); 0 = normal'),
        DeclareLaunchArgument('resume', default_value='',
                              description='run folder to resume (its newest checkpoint and episode count); empty = new run'),
        DeclareLaunchArgument('episodes', default_value='',
                              description='total episode budget of the run (training.episodes); empty = the params file\'s'),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_nodes)])
