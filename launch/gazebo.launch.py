"""naf_trainer against an arm in Gazebo (gz sim) with gz_ros2_control: reacher3 by default, or yours.

    ros2 launch naf_ros gazebo.launch.py [urdf:=<file.urdf or .xacro>] [robot_name:=<name>]
        [params_file:=<yaml>] [run_dir:=<dir>] [gz_args:='-r -v 1 empty.sdf']
        [resume:=<run folder>] [episodes:=<total budget>] [start_trainer:=true]
        [overrides:='{<parameter>: <value>, ...}']

    start_trainer:=false starts Gazebo, the arm and its controllers only: the hardware a separate
    `ros2 launch naf_ros hardware.launch.py ... use_sim_time:=true` drives, as on a real robot.
    overrides: naf_trainer parameters (a YAML mapping) on top of the params file, e.g.
    policy.launch.py sim:=gazebo passes mode: deploy, deploy.checkpoint and its safety values.

    e.g. the shipped UR5e:
    ros2 launch naf_ros gazebo.launch.py urdf:=$(ros2 pkg prefix naf_ros)/share/naf_ros/urdf/ur5e.urdf \
        robot_name:=ur5e params_file:=$(ros2 pkg prefix naf_ros)/share/naf_ros/config/ur5e.yaml

    Headless (no GUI, e.g. over ssh or in CI): gz_args:='-r -s -v 1 empty.sdf' (-s: server only).

The robot description is `urdf` run through xacro (a plain URDF passes through unchanged; xacro
resolves $(find ...) in the <gazebo> plugin block, which names the controllers file). The expanded
URDF is also written to <run_dir>/<robot_name>.urdf and given to naf_trainer as `urdf_path`, so
the learner's kinematics, limits and gravity model come from the very robot Gazebo simulates;
the arm's own package needs no edit. With `safety.damping_injection: hardware` (the default) Gazebo
plays the robot's joint-impedance loop: the description it simulates gets the params file's
damping D (from `naf-ros arm --json`) added to each joint's <dynamics damping>.

Sequence: gz sim + robot_state_publisher + /clock bridge; spawn the arm from /robot_description;
when the spawn is done start joint_state_broadcaster, then effort_controller
(effort_controllers/JointGroupEffortController, from the controllers file of the URDF's <gazebo>
block); then naf_trainer on simulation time. Episodes start by homing under control (no
/reset_simulation: resetting gz_ros2_control is fragile, see gz_ros2_control #189/#636).
Needs gz_ros2_control >= 0.7.13 on Humble (the gz_ros2_control-system plugin name; older Humble
installs only have ign_ros2_control).
"""
import os
import sys
import shutil

import yaml

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# Every process of this launch dies with it: `ros2 launch` stopped by SIGTERM or SIGKILL (a script, a
# service manager) exits without stopping its processes; PR_SET_PDEATHSIG, set by util-linux's
# `setpriv`, sends each one SIGTERM when the launch is gone. Ctrl-C still stops them in order.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from naf_launch_common import (  # noqa: E402
    PDEATH, enclave_args, enclaves_argument, run_overrides, robot_damping_by_joint,
)


def _with_damping(description, damping):
    """The robot description Gazebo simulates: each joint of `damping` gets D added to its
    <dynamics damping> (created when absent), which gz sim applies at every physics step -- Gazebo
    playing the robot's joint-impedance loop. The arm's own description (naf_trainer's) is unchanged."""
    import xml.etree.ElementTree as ET
    if not damping:
        return description
    root = ET.fromstring(description)
    for joint in root.findall('joint'):
        d = damping.get(joint.get('name'))
        if d is None:
            continue
        dyn = joint.find('dynamics')
        if dyn is None:
            dyn = ET.SubElement(joint, 'dynamics')
        dyn.set('damping', repr(float(dyn.get('damping', '0')) + d))
    return ET.tostring(root, encoding='unicode')


def _gz_sim(context):
    """gz sim itself, started without a shell: Ctrl-C and SIGTERM of `ros2 launch` reach the
    simulator. (ros_gz_sim's gz_sim.launch.py starts it as `sh -c 'ruby $(which ign) gazebo ...'`;
    the shell takes the launch's signals and the simulator outlived the launch -- seen on Humble +
    Fortress.) Fortress is `ign gazebo` (gz_version 6, Humble), Garden and later `gz sim` (7+,
    Harmonic: 8, Jazzy); the plugin paths are set as ros_gz_sim sets them."""
    import shlex
    version = LaunchConfiguration('gz_version').perform(context)
    tool, verb = ('ign', 'gazebo') if int(version) < 7 else ('gz', 'sim')
    exe = shutil.which(tool)
    if exe is None:
        raise RuntimeError(f'gz_version:={version} needs `{tool}` on PATH (Gazebo {"Fortress" if tool == "ign" else "Garden or later"})')
    paths = ':'.join([os.environ.get('LD_LIBRARY_PATH', '')])
    env = {'GZ_SIM_SYSTEM_PLUGIN_PATH': ':'.join([os.environ.get('GZ_SIM_SYSTEM_PLUGIN_PATH', ''), paths]),
           'IGN_GAZEBO_SYSTEM_PLUGIN_PATH': ':'.join([os.environ.get('IGN_GAZEBO_SYSTEM_PLUGIN_PATH', ''), paths])}
    args = shlex.split(LaunchConfiguration('gz_args').perform(context))
    return [ExecuteProcess(prefix=PDEATH, cmd=['ruby', exe, verb, *args, '--force-version', version], output='screen',
                           additional_env=env, name='gz_sim')]


def _robot(context):
    """Expands the URDF (xacro), writes it for naf_trainer, and starts the robot's nodes."""
    import xacro  # ROS's xacro package (exec_depend); imported here so the file parses without it

    urdf = LaunchConfiguration('urdf').perform(context)
    name = LaunchConfiguration('robot_name').perform(context)
    run_dir = LaunchConfiguration('run_dir').perform(context)
    description = xacro.process_file(urdf).toxml()
    os.makedirs(run_dir, exist_ok=True)
    expanded = os.path.join(run_dir, f'{name}.urdf')
    with open(expanded, 'w') as f:
        f.write(description)
    params_file = LaunchConfiguration('params_file').perform(context)
    simulated = _with_damping(description, robot_damping_by_joint(params_file, expanded))

    rsp = Node(prefix=PDEATH, package='robot_state_publisher', executable='robot_state_publisher', output='screen',
               parameters=[{'robot_description': simulated, 'use_sim_time': True}])
    spawn = Node(prefix=PDEATH, package='ros_gz_sim', executable='create', output='screen',
                 arguments=['-topic', 'robot_description', '-name', name])
    jsb = Node(prefix=PDEATH, package='controller_manager', executable='spawner', output='screen',
               arguments=['joint_state_broadcaster', '--controller-manager', '/controller_manager'])
    effort = Node(prefix=PDEATH, package='controller_manager', executable='spawner', output='screen',
                  arguments=['effort_controller', '--controller-manager', '/controller_manager'])
    extra = yaml.safe_load(LaunchConfiguration('overrides').perform(context) or '{}') or {}
    if not isinstance(extra, dict):
        raise ValueError(f'overrides:={extra!r}: must be a YAML mapping of naf_trainer parameters')
    trainer = Node(prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'naf_trainer'), name='naf_trainer', output='screen',
                   parameters=[params_file, {
                       'use_sim_time': True,
                       'run_dir': run_dir,
                       'urdf_path': expanded,
                       **run_overrides(context),
                       **extra,
                   }])
    start_trainer = LaunchConfiguration('start_trainer').perform(context).lower() == 'true'
    return [
        rsp, spawn,
        RegisterEventHandler(OnProcessExit(target_action=spawn, on_exit=[jsb])),
        RegisterEventHandler(OnProcessExit(target_action=jsb, on_exit=[effort])),
    ] + ([RegisterEventHandler(OnProcessExit(target_action=effort, on_exit=[trainer]))] if start_trainer else [])


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [
        enclaves_argument(),
        DeclareLaunchArgument('urdf', default_value=os.path.join(share, 'urdf', 'reacher3.urdf'),
                              description='robot description: a URDF or xacro file (absolute path), with '
                                          'ros2_control effort interfaces and the gz_ros2_control <gazebo> block'),
        DeclareLaunchArgument('robot_name', default_value='reacher3', description='model name in Gazebo'),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'reacher.yaml'),
                              description='naf_trainer params file (absolute path); its joints must be the '
                                          'effort controller joints'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for run logs, checkpoints and the expanded URDF'),
        DeclareLaunchArgument('gz_args', default_value='-r -v 1 empty.sdf',
                              description="gz sim arguments; headless: '-r -s -v 1 empty.sdf'"),
        DeclareLaunchArgument('gz_version', default_value='6' if os.environ.get('ROS_DISTRO', 'humble') == 'humble' else '8',
                              description='Gazebo Sim major version: 6 = Fortress (`ign gazebo`, Humble), 8 = Harmonic (`gz sim`, Jazzy)'),
        DeclareLaunchArgument('resume', default_value='', description='run folder to resume; empty = new run'),
        DeclareLaunchArgument('episodes', default_value='', description='total episode budget (training.episodes); empty = the params file\'s'),
        DeclareLaunchArgument('start_trainer', default_value='true',
                              description='false: Gazebo, the arm and its controllers only (drive it with hardware.launch.py use_sim_time:=true)'),
        DeclareLaunchArgument('overrides', default_value='{}', description='naf_trainer parameters on top of the params file (YAML mapping)'),
    ]
    gz = OpaqueFunction(function=_gz_sim)
    clock_bridge = Node(prefix=PDEATH, package='ros_gz_bridge', executable='parameter_bridge', output='screen',
                        arguments=['/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock'])
    return LaunchDescription(args + [gz, clock_bridge, OpaqueFunction(function=_robot)])
