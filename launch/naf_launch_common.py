"""What every naf_ros launch file shares (imported from the launch file's own folder).

PDEATH           the prefix that gives every process PR_SET_PDEATHSIG: a node never outlives its launch.
enclaves_argument()  the `enclaves:=` launch argument (SROS2, docs/security.md).
enclave_args(context, role)  the ROS arguments that put a naf_ros node into its enclave
                 `<enclaves>/<role>` of the keystore made from security/naf_ros.policy.xml, or
                 None when `enclaves:=` is empty (security off, or ROS_SECURITY_ENCLAVE_OVERRIDE).
"""
import shutil

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
