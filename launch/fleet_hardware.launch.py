"""A fleet of physical arms: one actor per robot namespace, and (optionally) the learner.

    ros2 launch naf_ros fleet_hardware.launch.py namespaces:=/left,/right \
        max_on_policy_fraction:=0.2 on_policy_fraction:=0.1 max_effort:=0.3 state_timeout_ms:=50.0

Each namespace is one robot whose ros2_control stack runs elsewhere and exposes, in that
namespace, `joint_states` (sensor_msgs/msg/JointState) and `effort_controller/commands`
(JointGroupEffortController); change the names with joint_states_topic / effort_command_topic
(relative names resolve in each robot's namespace). Per robot this starts `naf_trainer` with
fleet.role: actor in that namespace: homing, episodes, the full safety supervisor, p-mixing, its
e-stop on <ns>/naf_trainer/estop. `learner:=true` also starts `naf_learner` here; on a fleet spread
over machines run it on the compute machine only (`namespaces:='' learner:=true`) and the actors on
the robots' computers (`learner:=false`), all with the same ROS_DOMAIN_ID.

SAFETY PARAMETERS (read-only once the nodes run) apply to every arm; a robot of its own takes a
section `/<ns>/naf_trainer` in the params file (e.g. its own max_on_policy_fraction). Their
meaning is as in hardware.launch.py: the cap on p (max_on_policy_fraction, the safety engineer's),
the torque cap (max_effort), the joint-state watchdog (state_timeout_ms), the velocity limit, the
soft limits, the homing torque. The learner never sends a torque: it sends policy parameters and
iLQG controllers, which each actor's supervisor filters as on a single arm.
Run: params_file (default config/naf_trainer_hardware.yaml), run_dir, resume (the learner's run
folder), episodes (the fleet's budget: completed episodes of all arms), rt_priority (actors).
"""
import os
import sys

import yaml
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
    PDEATH, enclave_args, enclaves_argument, section, merge, run_overrides,
)

# (launch argument, ROS parameter, type, description) -- safety first.
SAFETY = [
    ('max_on_policy_fraction', 'model_based.max_on_policy_fraction', float, 'cap on p (read-only)'),
    ('on_policy_fraction', 'model_based.on_policy_fraction', float, 'p at start, <= max_on_policy_fraction'),
    ('max_effort', 'safety.max_effort', float, 'torque cap, N*m (min with URDF effort limits)'),
    ('state_timeout_ms', 'safety.state_timeout_ms', float, 'joint-state watchdog, ms'),
    ('velocity_limit', 'safety.velocity_limit', float, 'joint speed limit, rad/s'),
    ('soft_limit_margin', 'safety.soft_limit_margin', float, 'soft limits inside URDF limits, rad'),
    ('homing_max_effort', 'safety.homing_max_effort', float, 'homing torque cap, N*m'),
]


def _nodes(context):
    params_file = os.path.abspath(LaunchConfiguration('params_file').perform(context))
    with open(params_file) as f:
        doc = yaml.safe_load(f) or {}
    base = merge(section(doc, '/**'), section(doc, 'naf_trainer', '/naf_trainer'))
    urdf = base.get('urdf_path', 'urdf/reacher3.urdf')
    if not os.path.isabs(urdf):
        urdf = os.path.normpath(os.path.join(os.path.dirname(params_file) if 'urdf_path' in base else get_package_share_directory('naf_ros'), urdf))
    run = run_overrides(context, 'the fleet')
    run_dir = LaunchConfiguration('run_dir').perform(context)
    # mesh_search_path (the arm model's package:// meshes) relative to the params file, as urdf_path
    meshes = [os.path.normpath(os.path.join(os.path.dirname(params_file), d)) for d in base.get('mesh_search_path', [])]
    common = {'use_sim_time': False, 'run_dir': run_dir, 'urdf_path': urdf, **({'mesh_search_path': meshes} if meshes else {})}
    given = []
    safety = {}
    for arg, name, kind, _ in SAFETY:
        value = LaunchConfiguration(arg).perform(context)
        if value != '':
            safety[name] = kind(value)
            given.append(f'{arg}={value}')
    namespaces = [n.strip() for n in LaunchConfiguration('namespaces').perform(context).split(',') if n.strip()]
    for ns in namespaces:
        if not ns.startswith('/') or ' ' in ns:
            raise ValueError(f'namespaces:={ns}: each namespace must start with / (e.g. /left,/right)')
    actions = [LogInfo(msg=f'fleet on hardware: actors in {", ".join(namespaces) or "(none)"}, learner {LaunchConfiguration("learner").perform(context)}; '
                           f'params file {params_file}; safety launch arguments: {", ".join(given) or "none"}')]
    for ns in namespaces:
        arm = merge(base, section(doc, f'{ns}/naf_trainer'))
        actions.append(Node(
            prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'fleet_actor'), name='naf_trainer', namespace=ns.strip('/'), output='screen',
            parameters=[arm, {
                **common, **safety, 'fleet.role': 'actor',
                'ros.joint_states_topic': LaunchConfiguration('joint_states_topic').perform(context),
                'ros.effort_command_topic': LaunchConfiguration('effort_command_topic').perform(context),
                'ros.rt_priority': int(LaunchConfiguration('rt_priority').perform(context)),
                **({'training.episodes': run['training.episodes']} if 'training.episodes' in run else {}),
            }],
        ))
    if LaunchConfiguration('learner').perform(context).lower() == 'true':
        learner = merge(base, section(doc, 'naf_learner', '/naf_learner'))
        actions.append(Node(prefix=PDEATH, package='naf_ros', executable='naf_learner', ros_arguments=enclave_args(context, 'fleet_learner'), name='naf_learner', output='screen',
                            parameters=[learner, {**common, **run}]))
    return actions


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [DeclareLaunchArgument(a, default_value='', description=f'{desc} (every arm; default: the params file value)') for a, _, _, desc in SAFETY]
    args += [
        DeclareLaunchArgument('namespaces', default_value='', description='comma-separated robot namespaces, one actor each (e.g. /left,/right)'),
        DeclareLaunchArgument('learner', default_value='true', description='start naf_learner on this machine'),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'naf_trainer_hardware.yaml'),
                              description='params file (naf_trainer section; /<ns>/naf_trainer and naf_learner sections add to it)'),
        DeclareLaunchArgument('joint_states_topic', default_value='joint_states', description='each robot\'s JointState topic (relative: in its namespace)'),
        DeclareLaunchArgument('effort_command_topic', default_value='effort_controller/commands', description='each robot\'s effort command topic (relative: in its namespace)'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'), description='folder for run folders'),
        DeclareLaunchArgument('resume', default_value='', description='learner run folder to resume; empty = new run'),
        DeclareLaunchArgument('episodes', default_value='', description='the fleet\'s budget (training.episodes); empty = the params file\'s'),
        DeclareLaunchArgument('rt_priority', default_value='50', description='SCHED_FIFO priority of the actors\' threads (as ros2_control; needs CAP_SYS_NICE); 0 = normal'),
    ]
    return LaunchDescription(args + [enclaves_argument(), OpaqueFunction(function=_nodes)])
