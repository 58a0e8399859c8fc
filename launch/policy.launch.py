"""A trained policy on the arm: naf_trainer in deploy mode (no learning, no exploration, no iLQG).

    ros2 launch naf_ros policy.launch.py checkpoint:=/abs/path/runs/<run>/checkpoints/best.safetensors \
        params_file:=/abs/my_arm.yaml [sim:=false|mujoco|gazebo] [episodes:=20] [max_effort:=0.3 ...]

The safety values (max_effort, state_timeout_ms, velocity_limit, soft_limit_margin,
homing_max_effort) are the params file's unless given here; naf_trainer warns at start of every
difference from the values the policy was trained with.

The node is the training node with `mode: deploy`: each episode homes the arm to a start pose
(torque-capped PD), then runs the greedy policy mu(x) of the checkpoint for T steps, every torque
through the safety supervisor (torque cap, soft position limits, velocity limit, workspace box, NaN
guard), with the joint-state watchdog and the latched e-stop exactly as in training. The episodes
start from the held-out test starts of the params file (`training.test_seed`): the starts of the
run's test.json and of `naf-ros eval`. No learner thread runs, nothing is checkpointed. The p cap
(max_on_policy_fraction) does not apply: no exploring policy runs; launching this file is the
safety engineer's decision.

checkpoint   a run folder (its newest checkpoint) or a checkpoint file; absolute path
params_file  the arm's params file (the one it was trained with, or the run's config.yaml)
episodes     episodes to run, then hold zero torque (0 = until stopped)
sim          false: a real arm (its ros2_control stack runs elsewhere);
             mujoco (or true): also start naf_sim_bridge, the MuJoCo arm of the params file;
             gazebo: Gazebo + gz_ros2_control with `urdf` (default: the params file's urdf_path,
             which then needs the <ros2_control>/<gazebo> blocks), as gazebo.launch.py
             (gz_args:='-r -s -v 1 empty.sdf' for headless)
E-stop: publish std_msgs/msg/Bool true (transient local) on /naf_trainer/estop; zero torque until
the topic reads false AND `ros2 service call /naf_trainer/resume std_srvs/srv/Trigger`.
"""
import json
import os
import sys

import yaml
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, LogInfo, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# Every process of this launch dies with it: `ros2 launch` stopped by SIGTERM or SIGKILL (a script, a
# service manager) exits without stopping its processes; PR_SET_PDEATHSIG, set by util-linux's
# `setpriv`, sends each one SIGTERM when the launch is gone. Ctrl-C still stops them in order.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from naf_launch_common import (  # noqa: E402
    PDEATH, enclave_args, enclaves_argument, trainer_parameters, robot_damping,
)

# (launch argument, ROS parameter, default, type, description) -- safety values first. An empty
# default keeps the params file's value: a policy deployed under the rules it was trained under
# (the derived damping follows velocity_limit; naf_trainer warns of every difference from training).
SAFETY = [
    ('max_effort', 'safety.max_effort', '', float, 'torque cap, N*m (min with URDF effort limits)'),
    ('state_timeout_ms', 'safety.state_timeout_ms', '', float, 'joint-state watchdog, ms'),
    ('velocity_limit', 'safety.velocity_limit', '', float, 'joint speed limit, rad/s'),
    ('soft_limit_margin', 'safety.soft_limit_margin', '', float, 'soft limits inside URDF limits, rad'),
    ('homing_max_effort', 'safety.homing_max_effort', '', float, 'homing torque cap, N*m'),
]
DEPLOY = [
    ('checkpoint', 'deploy.checkpoint', '', str, 'run folder or checkpoint file (.safetensors), absolute path'),
    ('episodes', 'deploy.episodes', '0', int, 'episodes to run (0 = until stopped)'),
]


def _nodes(context):
    share = get_package_share_directory('naf_ros')
    params_file = os.path.abspath(LaunchConfiguration('params_file').perform(context))
    p = trainer_parameters(params_file)
    urdf = p.get('urdf_path', 'urdf/reacher3.urdf')
    if not os.path.isabs(urdf):
        urdf = os.path.normpath(os.path.join(os.path.dirname(params_file) if 'urdf_path' in p else share, urdf))
    sim = LaunchConfiguration('sim').perform(context).lower()
    if sim == 'true':
        sim = 'mujoco'
    if sim not in ('false', 'mujoco', 'gazebo'):
        raise ValueError(f'sim:={sim}: must be false, mujoco (or true) or gazebo')
    overrides = {name: kind(v) for arg, name, _, kind, _ in SAFETY + DEPLOY if (v := LaunchConfiguration(arg).perform(context)) != ''}
    overrides['mode'] = 'deploy'
    summary = LogInfo(msg=f'naf_trainer deploy ({"real arm" if sim == "false" else sim}): ' +
                      ', '.join(f'{a}={LaunchConfiguration(a).perform(context)}' for a, _, _, _, _ in DEPLOY + SAFETY))
    if sim == 'gazebo':
        gz_urdf = LaunchConfiguration('urdf').perform(context) or urdf
        gazebo = IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'gazebo.launch.py')),
            launch_arguments={
                'urdf': gz_urdf, 'robot_name': LaunchConfiguration('robot_name').perform(context),
                'params_file': params_file, 'run_dir': LaunchConfiguration('run_dir').perform(context),
                'gz_args': LaunchConfiguration('gz_args').perform(context), 'overrides': json.dumps(overrides),
                'enclaves': LaunchConfiguration('enclaves').perform(context),
            }.items(),
        )
        return [summary, gazebo]
    actions = [summary]
    use_sim_time = sim == 'mujoco'
    if sim == 'mujoco':
        meshes = [os.path.normpath(os.path.join(os.path.dirname(params_file), d)) for d in p.get('mesh_search_path', [])]
        actions.append(Node(
            prefix=PDEATH, package='naf_ros', executable='naf_sim_bridge', ros_arguments=enclave_args(context, 'naf_sim_bridge'), name='naf_sim_bridge', output='screen',
            parameters=[{
                'urdf_path': urdf,
                'joints': list(p.get('joints', ['joint1', 'joint2', 'joint3'])),
                # an empty list has no ROS parameter type: only given when there are folders
                **({'mesh_search_path': meshes} if meshes else {}),
                'rate_hz': 100.0,
                'initial_positions': [float(v) for v in (p.get('task') or {}).get('home_pose', [0.0, 0.8, 0.8])],
                'publish_clock': True,
                'command_timeout_ms': 500.0,
                'joint_damping': robot_damping(params_file, urdf),
            }],
        ))
    actions.append(Node(
        prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'naf_trainer'), name='naf_trainer', output='screen',
        parameters=[params_file, {**overrides, 'urdf_path': urdf, 'use_sim_time': use_sim_time,
                                  'run_dir': LaunchConfiguration('run_dir').perform(context)}],
    ))
    return actions


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [DeclareLaunchArgument(a, default_value=d, description=desc + (' (default: the params file value)' if d == '' else ''))
            for a, _, d, _, desc in SAFETY + DEPLOY]
    args += [
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'naf_trainer_hardware.yaml'),
                              description='naf_trainer params file (absolute path): arm, joints, topics, safety'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for the node log'),
        DeclareLaunchArgument('sim', default_value='false', description='false (a real arm) | mujoco | gazebo'),
        DeclareLaunchArgument('urdf', default_value='', description="sim:=gazebo: the robot description with <ros2_control>/<gazebo> blocks ('' = the params file's urdf_path)"),
        DeclareLaunchArgument('robot_name', default_value='robot', description='sim:=gazebo: model name'),
        DeclareLaunchArgument('gz_args', default_value='-r -v 1 empty.sdf', description="sim:=gazebo: gz sim arguments; headless: '-r -s -v 1 empty.sdf'"),
    ]
    return LaunchDescription(args + [enclaves_argument(), OpaqueFunction(function=_nodes)])
