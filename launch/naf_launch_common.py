"""What every naf_ros launch file shares (imported from the launch file's own folder).

PDEATH           the prefix that gives every process PR_SET_PDEATHSIG: a node never outlives its launch.
enclaves_argument()  the `enclaves:=` launch argument (SROS2, docs/security.md).
enclave_args(context, role)  the ROS arguments that put a naf_ros node into its enclave
                 `<enclaves>/<role>` of the keystore made from security/naf_ros.policy.xml, or
                 None when `enclaves:=` is empty (security off, or ROS_SECURITY_ENCLAVE_OVERRIDE).
section, merge, trainer_parameters   reading params files.
run_overrides(context)  `resume:=` and `episodes:=` as naf_trainer parameters.
robot_damping*   the damping D the simulated robot's own loop injects, from `naf-ros arm --json`.
"""
import json
import os
import shutil
import subprocess
import tempfile

import yaml
from ament_index_python.packages import get_package_share_directory

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration

PDEATH = 'setpriv --pdeathsig TERM' if shutil.which('setpriv') else None

# The enclave of each naf_ros node, relative to `enclaves:=` (security/naf_ros.policy.xml).
ROLES = {
    'naf_trainer': 'naf_trainer',
    'naf_sim_bridge': 'naf_sim_bridge',
    'fleet_actor': 'fleet/actor',
    'fleet_sim_bridge': 'fleet/sim_bridge',
    'fleet_learner': 'fleet/learner',
}


def enclaves_argument():
    return DeclareLaunchArgument(
        'enclaves', default_value='',
        description='SROS2: the root of the naf_ros enclaves in $ROS_SECURITY_KEYSTORE (e.g. /naf_ros, '
                    'from security/naf_ros.policy.xml); each node runs in <enclaves>/<its role>. '
                    "'' = no --enclave (security off)")


def enclave_args(context, role):
    root = LaunchConfiguration('enclaves').perform(context).rstrip('/')
    if not root:
        return None
    if not root.startswith('/'):
        raise ValueError(f'enclaves:={root}: must be an absolute enclave path such as /naf_ros')
    return ['--enclave', f'{root}/{ROLES[role]}']


def section(doc, *names):
    """The ros__parameters of the first of `names` present in a params file's content (by node name or key)."""
    for key in names:
        entry = doc.get(key)
        if isinstance(entry, dict) and 'ros__parameters' in entry:
            return dict(entry['ros__parameters'] or {})
    return {}


def merge(base, extra):
    """Nested dictionaries merged (extra wins)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def trainer_parameters(path):
    """The naf_trainer section of a params file (by name or the /** wildcard)."""
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    return section(doc, 'naf_trainer', '/naf_trainer', '/**')


def run_overrides(context, whose='the run'):
    """ros.resume (absolute) always; training.episodes only when `episodes` is given.
    `whose`: the budget's owner in the error message ('the run', 'the fleet')."""
    resume = LaunchConfiguration('resume').perform(context)
    overrides = {'ros.resume': os.path.abspath(resume) if resume else ''}
    episodes = LaunchConfiguration('episodes').perform(context)
    if episodes:
        if not episodes.isdigit() or int(episodes) < 1:
            raise ValueError(f"episodes:={episodes}: must be an integer >= 1 ({whose}'s total training.episodes)")
        overrides['training.episodes'] = int(episodes)
    return overrides


def arm_report(params_file, urdf):
    """`naf-ros arm --json` of a params file and a URDF: the chain, limits and damping the node
    itself derives (so a launch file never re-implements the rule). @raises RuntimeError."""
    share = get_package_share_directory('naf_ros')
    cmd = ['node', os.path.join(share, 'bin', 'naf-ros.mjs'), 'arm', '--config', params_file, '--urdf', urdf, '--json']
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed: {out.stderr.strip() or out.stdout.strip()}')
    return json.loads(out.stdout)


def robot_damping(params_file, urdf):
    """The damping the robot's own loop injects: `safety.damping_injection: hardware`'s D
    (N*m*s/rad per joint of `joints`, in order); [] in modes node (naf_trainer adds it) and none."""
    damping = arm_report(params_file, urdf)['damping']
    return [float(d) for d in damping['D']] if damping['mode'] == 'hardware' else []


def robot_damping_by_joint(params_file, urdf):
    """`robot_damping` by joint name ({} in modes node and none)."""
    report = arm_report(params_file, urdf)
    if report['damping']['mode'] != 'hardware':
        return {}
    return {j['name']: float(d) for j, d in zip(report['joints'], report['damping']['D'])}


def robot_damping_of(params, urdf):
    """`robot_damping` for parameters given as a mapping (e.g. one arm's merged parameters)."""
    with tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False) as f:
        yaml.safe_dump({'naf_trainer': {'ros__parameters': {**params, 'urdf_path': urdf}}}, f)
    try:
        return robot_damping(f.name, urdf)
    finally:
        os.unlink(f.name)
