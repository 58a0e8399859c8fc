"""naf_trainer against the reacher3 arm in Gazebo (gz sim) with gz_ros2_control.

    ros2 launch naf_ros gazebo.launch.py [params_file:=<yaml>] [run_dir:=<dir>] [gz_args:='-r empty.sdf']
                                         [resume:=<run folder>] [episodes:=<total budget>]

Sequence: gz sim (empty world, running) + robot_state_publisher (URDF through xacro, which resolves
$(find naf_ros) in the <gazebo> plugin block) + /clock bridge; spawn the arm from
/robot_description; when the spawn is done start joint_state_broadcaster, then effort_controller
(effort_controllers/JointGroupEffortController, config/ros2_controllers.yaml); then naf_trainer
on simulation time. Episodes start by homing under control (no /reset_simulation: resetting
gz_ros2_control is fragile, see gz_ros2_control #189/#636).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


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
    urdf = os.path.join(share, 'urdf', 'reacher3.urdf')
    args = [
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'reacher.yaml'),
                              description='naf_trainer params file (absolute path)'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for run logs and checkpoints'),
        DeclareLaunchArgument('gz_args', default_value='-r -v 1 empty.sdf', description='gz sim arguments'),
        DeclareLaunchArgument('resume', default_value='', description='run folder to resume; empty = new run'),
        DeclareLaunchArgument('episodes', default_value='', description='total episode budget (training.episodes); empty = the params file\'s'),
    ]
    robot_description = ParameterValue(Command(['xacro ', urdf]), value_type=str)
    gz = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])),
        launch_arguments={'gz_args': LaunchConfiguration('gz_args')}.items(),
    )
    rsp = Node(package='robot_state_publisher', executable='robot_state_publisher', output='screen',
               parameters=[{'robot_description': robot_description, 'use_sim_time': True}])
    clock_bridge = Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
                        arguments=['/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock'])
    spawn = Node(package='ros_gz_sim', executable='create', output='screen',
                 arguments=['-topic', 'robot_description', '-name', 'reacher3'])
    jsb = Node(package='controller_manager', executable='spawner', output='screen',
               arguments=['joint_state_broadcaster', '--controller-manager', '/controller_manager'])
    effort = Node(package='controller_manager', executable='spawner', output='screen',
                  arguments=['effort_controller', '--controller-manager', '/controller_manager'])
    trainer = OpaqueFunction(function=lambda context: [Node(
        package='naf_ros', executable='naf_trainer', name='naf_trainer', output='screen',
        parameters=[LaunchConfiguration('params_file'), {
            'use_sim_time': True,
            'run_dir': LaunchConfiguration('run_dir'),
            **run_overrides(context),
        }])])
    return LaunchDescription(args + [
        gz, rsp, clock_bridge, spawn,
        RegisterEventHandler(OnProcessExit(target_action=spawn, on_exit=[jsb])),
        RegisterEventHandler(OnProcessExit(target_action=jsb, on_exit=[effort])),
        RegisterEventHandler(OnProcessExit(target_action=effort, on_exit=[trainer])),
    ])
