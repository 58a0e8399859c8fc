"""A fleet: N simulated arms, their actors, and one learner (issue 14; Gu et al., ICRA 2017).

    ros2 launch naf_ros fleet.launch.py arms:=2 [params_file:=<yaml>] [run_dir:=<dir>]
                                        [resume:=<learner run folder>] [episodes:=<fleet budget>]
                                        [learner:=true] [sim:=true] [first_arm:=1] [sim_rate_hz:=100.0] [rt_priority:=50]

Per arm k (namespace /arm<k>): `naf_sim_bridge` (the MuJoCo arm of the params file's urdf_path,
starting at its task.home_pose; /arm<k>/joint_states out, /arm<k>/effort_controller/commands in)
and `naf_trainer` with fleet.role: actor (homing, episodes, the full safety supervisor, p-mixing;
its episodes go to the learner, its policy and its own iLQG controller come back). One
`naf_learner` (learner:=true) owns R, R_f, the NAF agent and every arm's model and controller.

Parameters: the params file's `naf_trainer` section (or `/**`) for every node; a section
`/arm<k>/naf_trainer` adds to it for that arm only (e.g. its own p and safety cap:
model_based.on_policy_fraction / max_on_policy_fraction, safety.*); a `naf_learner` section adds to
it for the learner. The learning parameters (task, agent, model_based) must agree between the
learner and the actors (the learner refuses episodes of other dimensions, actors refuse policies of
another network). Relative paths (urdf_path) are relative to the params file's folder.
`episodes` is the fleet's budget: completed episodes of all arms together (training.episodes of the
learner; the actors stop when the learner says so). `resume:=<run folder>` restarts the learner from
its newest checkpoint (the whole fleet's state: replay, network, every arm's model and controller).
Arms run on wall time (several simulators cannot share one /clock). `learner:=false` starts only
the arms (the learner runs on another machine, same ROS_DOMAIN_ID); `first_arm` numbers them
(arms:=2 first_arm:=3 starts /arm3 and /arm4); `sim:=false` starts the actors without their
simulators (to restart an actor whose simulator still runs: arms:=1 first_arm:=2 sim:=false
learner:=false), `arms:=0` the learner alone (to restart it: arms:=0 resume:=<run folder>). rt_priority: SCHED_FIFO priority of the bridges'
and actors' threads (as ros2_control; 0 = normal scheduling); the learner runs at normal priority.
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
    PDEATH, enclave_args, enclaves_argument, section, merge, run_overrides, robot_damping_of,
)


def _nodes(context):
    params_file = os.path.abspath(LaunchConfiguration('params_file').perform(context))
    with open(params_file) as f:
        doc = yaml.safe_load(f) or {}
    base = merge(section(doc, '/**'), section(doc, 'naf_trainer', '/naf_trainer'))
    urdf = base.get('urdf_path', 'urdf/reacher3.urdf')
    if not os.path.isabs(urdf):
        # the project's rule: relative to the params file that sets it (the default: to the package)
        urdf = os.path.normpath(os.path.join(os.path.dirname(params_file) if 'urdf_path' in base else get_package_share_directory('naf_ros'), urdf))
    # mesh_search_path: folders of ROS packages for the URDF's package:// meshes, relative to the params file
    meshes = [os.path.normpath(os.path.join(os.path.dirname(params_file), d)) for d in base.get('mesh_search_path', [])]
    mesh_param = {'mesh_search_path': meshes} if meshes else {}
    arms = LaunchConfiguration('arms').perform(context)
    first = LaunchConfiguration('first_arm').perform(context)
    if not arms.isdigit() or not first.isdigit() or int(first) < 1:
        raise ValueError(f'arms:={arms} first_arm:={first}: must be integers, arms >= 0 and first_arm >= 1')
    run = run_overrides(context, 'the fleet')
    run_dir = LaunchConfiguration('run_dir').perform(context)
    rt = int(LaunchConfiguration('rt_priority').perform(context))
    actions = [LogInfo(msg=f'fleet: {arms} arm(s) from /arm{first}, learner {LaunchConfiguration("learner").perform(context)}; params file {params_file}; URDF {urdf}')]
    for k in range(int(first), int(first) + int(arms)):
        ns = f'arm{k}'
        arm = merge(base, section(doc, f'/{ns}/naf_trainer'))
        joints = list(arm.get('joints', ['joint1', 'joint2', 'joint3']))
        home = [float(v) for v in (arm.get('task') or {}).get('home_pose', [0.0, 0.8, 0.8])]
        if LaunchConfiguration('sim').perform(context).lower() == 'true':
            actions.append(Node(
                prefix=PDEATH, package='naf_ros', executable='naf_sim_bridge', ros_arguments=enclave_args(context, 'fleet_sim_bridge'), name='naf_sim_bridge', namespace=ns, output='screen',
                parameters=[{
                    'urdf_path': urdf, **mesh_param, 'joints': joints, 'initial_positions': home,
                    'rate_hz': float(LaunchConfiguration('sim_rate_hz').perform(context)),
                    'publish_clock': False, 'command_timeout_ms': 500.0, 'rt_priority': rt,
                    'joint_states_topic': 'joint_states', 'effort_command_topic': 'effort_controller/commands',
                    'joint_damping': robot_damping_of(arm, urdf),
                }],
            ))
        actions.append(Node(
            prefix=PDEATH, package='naf_ros', executable='naf_trainer', ros_arguments=enclave_args(context, 'fleet_actor'), name='naf_trainer', namespace=ns, output='screen',
            parameters=[arm, {
                'use_sim_time': False, 'run_dir': run_dir, 'urdf_path': urdf, **mesh_param, 'fleet.role': 'actor',
                'ros.joint_states_topic': 'joint_states', 'ros.effort_command_topic': 'effort_controller/commands',
                'ros.rt_priority': rt,
                # the fleet's budget is the learner's; an actor stops when the learner says so
                **({'training.episodes': run['training.episodes']} if 'training.episodes' in run else {}),
            }],
        ))
    if LaunchConfiguration('learner').perform(context).lower() == 'true':
        learner = merge(base, section(doc, 'naf_learner', '/naf_learner'))
        actions.append(Node(
            prefix=PDEATH, package='naf_ros', executable='naf_learner', ros_arguments=enclave_args(context, 'fleet_learner'), name='naf_learner', output='screen',
            parameters=[learner, {'use_sim_time': False, 'run_dir': run_dir, 'urdf_path': urdf, **mesh_param, **run}],
        ))
    return actions


def generate_launch_description():
    share = get_package_share_directory('naf_ros')
    args = [
        enclaves_argument(),
        DeclareLaunchArgument('arms', default_value='2', description='number of simulated arms (namespaces /arm<first_arm> ...)'),
        DeclareLaunchArgument('first_arm', default_value='1', description='number of the first arm\'s namespace'),
        DeclareLaunchArgument('learner', default_value='true', description='start naf_learner here (false: it runs elsewhere)'),
        DeclareLaunchArgument('sim', default_value='true', description='start each arm\'s MuJoCo stand-in (false: the actors only)'),
        DeclareLaunchArgument('params_file', default_value=os.path.join(share, 'config', 'reacher.yaml'),
                              description='params file of every node (naf_trainer section; /arm<k>/naf_trainer and naf_learner sections add to it)'),
        DeclareLaunchArgument('run_dir', default_value=os.path.join(os.path.expanduser('~'), '.ros', 'naf_ros', 'runs'),
                              description='folder for run folders (the learner\'s checkpoints, each actor\'s logs)'),
        DeclareLaunchArgument('sim_rate_hz', default_value='100.0', description='MuJoCo physics/joint_states rate, Hz'),
        DeclareLaunchArgument('rt_priority', default_value='50',
                              description='SCHED_FIFO priority of the bridges\' and actors\' threads (as ros2_control; needs CAP_SYS_NICE, else a warning); 0 = normal'),
        DeclareLaunchArgument('resume', default_value='', description='learner run folder to resume (the fleet\'s newest checkpoint); empty = new run'),
        DeclareLaunchArgument('episodes', default_value='', description='the fleet\'s budget: completed episodes of all arms (training.episodes); empty = the params file\'s'),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_nodes)])
