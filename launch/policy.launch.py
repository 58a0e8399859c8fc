"""A trained policy on the arm: naf_trainer in deploy mode (no learning, no exploration, no iLQG).

    ros2 launch naf_ros policy.launch.py checkpoint:=/abs/path/runs/<run>/checkpoints/best.safetensors \
        max_effort:=0.3 state_timeout_ms:=50.0 [sim:=true] [episodes:=10]

The node is the training node with `mode: deploy`: each episode homes the arm to a start pose
(torque-capped PD), then runs the greedy policy mu(x) of the checkpoint for T steps, every torque
through the safety supervisor (torque cap, soft position limits, velocity limit, NaN guard), with
the joint-state watchdog and the latched e-stop exactly as in training. No learner thread runs,
nothing is checkpointed. The p cap (max_on_policy_fraction) does not apply: no exploring policy
runs; launching this file is the safety engineer's decision.

checkpoint   a run folder (its newest checkpoint) or a checkpoint file; absolute path
episodes     episodes to run, then hold zero torque (0 = until stopped)
sim          true: also start naf_sim_bridge (the MuJoCo arm) and use simulation time
E-stop: publish std_msgs/msg/Bool true (transient local) on /naf_trainer/estop; zero torque until
the topic reads false AND `ros2 service call /naf_trainer/resume std_srvs/srv/Trigger`.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

# (launch argument, ROS parameter, default, type, description) -- safety values first.
SAFETY = [
    ('max_effort', 'safety.max_effort', '0.3', float, 'torque cap, N*m (min with URDF effort limits)'),
    ('state_timeout_ms', 'safety.state_timeout_ms', '50.0', float, 'joint-state watchdog, ms'),
    ('velocity_limit', 'safety.velocity_limit', '4.0', float, 'joint speed limit, rad/s'),
    ('soft_limit_margin', 'safety.soft_limit_margin', '0.2', float, 'soft limits inside URDF limits, rad'),
    ('homing_max_effort', 'safety.homing_max_effort', '0.05', float, 'homing torque cap, N*m'),
]
DEPLOY = [
    ('checkpoint', 'deploy.checkpoint', '', str, 'run folder or checkpoint file (.safetensors), absolute path'),
    ('episodes', 'deploy.episodes', '0', int, 'episodes to run (0 = until stopped)'),
]


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [DeclareLaunchArgument(a, default_value=d, description=desc) for a, _, d, _, desc in SAFETY + DEPLOY]
    args += [
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'naf_trainer_hardware.yaml'),
                              description='naf_trainer params file (absolute path): arm, joints, topics, safety'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for the node log'),
        DeclareLaunchArgument('sim', default_value='false', description='also start the MuJoCo sim bridge'),
    ]
    overrides = {p: ParameterValue(LaunchConfiguration(a), value_type=t) for a, p, _, t, _ in SAFETY + DEPLOY}
    overrides['mode'] = 'deploy'
    overrides['run_dir'] = LaunchConfiguration('run_dir')
    overrides['use_sim_time'] = ParameterValue(LaunchConfiguration('sim'), value_type=bool)
    summary = [LogInfo(msg=['naf_trainer deploy: checkpoint=', LaunchConfiguration('checkpoint'), ' '] + sum(
        ([f'{a}=', LaunchConfiguration(a), ' '] for a, _, _, _, _ in SAFETY), []))]
    bridge = Node(
        package='naf_ros', executable='naf_sim_bridge', name='naf_sim_bridge', output='screen',
        condition=IfCondition(LaunchConfiguration('sim')),
        parameters=[{
            'urdf_path': os.path.join(share, 'urdf', 'reacher3.urdf'),
            'joints': ['joint1', 'joint2', 'joint3'],
            'rate_hz': 100.0,
            'initial_positions': [0.0, 0.8, 0.8],
            'publish_clock': True,
            'command_timeout_ms': 500.0,
        }],
    )
    policy = Node(
        package='naf_ros', executable='naf_trainer', name='naf_trainer', output='screen',
        parameters=[LaunchConfiguration('params_file'), overrides],
    )
    return LaunchDescription(args + summary + [bridge, policy])
