"""naf_trainer against the embedded MuJoCo arm, as two ROS 2 processes.

    ros2 launch naf_ros mujoco.launch.py [params_file:=<yaml>] [run_dir:=<dir>] [sim_rate_hz:=100.0]
                                         [resume:=<run folder>] [episodes:=<total budget>] [use_sim_time:=true]

`naf_sim_bridge` exposes the MuJoCo arm exactly as Gazebo + gz_ros2_control would: it publishes
/joint_states (sensor_msgs/msg/JointState) and /clock (simulation time) and applies the
Float64MultiArray torques of /effort_controller/commands (order of its `joints`). `naf_trainer`
runs on simulation time (use_sim_time) and learns against it; `use_sim_time:=false` runs both on
wall time instead, as on a physical arm (no /clock; the bridge stamps states with its own clock).
`resume:=<run folder>` continues a run (its newest checkpoint, its episode count; parameter
`ros.resume`); `episodes:=N` sets the run's total budget `training.episodes` (default: the params
file's), e.g. to extend a finished run.
Needs `npm ci` (and rclnodejs) in the naf_ros source folder before `colcon build`.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def run_overrides(context):
    """ros.resume (absolute) always; training.episodes only when `episodes` is given."""
    resume = LaunchConfiguration('resume').perform(context)
    overrides = {'ros.resume': os.path.abspath(resume) if resume else ''}
    episodes = LaunchConfiguration('episodes').perform(context)
    if episodes:
        if not episodes.isdigit() or int(episodes) < 1:
            raise ValueError(f'episodes:={episodes}: must be an integer >= 1 (the run\'s total training.episodes)')
        overrides['training.episodes'] = int(episodes)
    return overrides


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'reacher.yaml'),
                              description='naf_trainer params file (absolute path)'),
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
    bridge = Node(
        package='naf_ros', executable='naf_sim_bridge', name='naf_sim_bridge', output='screen',
        parameters=[{
            'urdf_path': os.path.join(share, 'urdf', 'reacher3.urdf'),
            'joints': ['joint1', 'joint2', 'joint3'],
            'rate_hz': ParameterValue(LaunchConfiguration('sim_rate_hz'), value_type=float),
            'initial_positions': [0.0, 0.8, 0.8],
            'publish_clock': ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool),
            'command_timeout_ms': 500.0,
            'rt_priority': ParameterValue(LaunchConfiguration('rt_priority'), value_type=int),
        }],
    )
    trainer = OpaqueFunction(function=lambda context: [Node(
        package='naf_ros', executable='naf_trainer', name='naf_trainer', output='screen',
        parameters=[LaunchConfiguration('params_file'), {
            'use_sim_time': ParameterValue(LaunchConfiguration('use_sim_time'), value_type=bool),
            'run_dir': LaunchConfiguration('run_dir'),
            'ros.rt_priority': ParameterValue(LaunchConfiguration('rt_priority'), value_type=int),
            **run_overrides(context),
        }],
    )])
    return LaunchDescription(args + [bridge, trainer])
