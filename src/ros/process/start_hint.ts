/**
 * What to do when a node cannot start ROS (rcl init or node creation failed): the hint names the
 * cause the error and the environment point to, instead of always "source ROS".
 *
 *   - rclnodejs not loadable, or no ROS environment (no ROS_DISTRO / AMENT_PREFIX_PATH): source ROS,
 *     install rclnodejs;
 *   - SROS2 on (ROS_SECURITY_ENABLE=true) and the enclave or keystore missing (rcl's "SECURITY
 *     ERROR: directory ... does not exist"): the keystore, the enclave, the `enclaves:=` argument;
 *   - SROS2 on and the DDS participant refused (rmw "failed to create DDS participant", which rcl
 *     reports as "rcl node's rmw handle is invalid"): a keystore made for another ROS_DOMAIN_ID,
 *     or certificates from another keystore, or the RMW without security support;
 *   - anything else: the error as it is, with the environment that matters.
 */

/**
 * @param message the error's message (rclnodejs or rcl)
 * @param env the process environment (process.env)
 * @returns the hint, one or more sentences (no trailing newline)
 */
export function rosStartHint(message: string, env: NodeJS.ProcessEnv): string {
  const secure = (env.ROS_SECURITY_ENABLE ?? '').toLowerCase() === 'true';
  const ks = env.ROS_SECURITY_KEYSTORE ?? '(unset)';
  const domain = env.ROS_DOMAIN_ID ?? '0';
  if (/rclnodejs/i.test(message) || (!env.ROS_DISTRO && !env.AMENT_PREFIX_PATH)) {
    return 'The ROS 2 nodes need a sourced ROS 2 (source /opt/ros/<distro>/setup.bash) and rclnodejs ' +
      '(npm install rclnodejs in this package, or NODE_PATH pointing at a node_modules that has it). ' +
      'Without ROS, `naf-ros train` runs the same training on the embedded MuJoCo arm.';
  }
  if (secure && /SECURITY ERROR|enclave|keystore/i.test(message)) {
    return `SROS2 is on (ROS_SECURITY_ENABLE=true, strategy ${env.ROS_SECURITY_STRATEGY ?? 'Permissive'}) and this node's enclave was not found in ` +
      `ROS_SECURITY_KEYSTORE=${ks}: make the keystore and its enclaves from security/naf_ros.policy.xml (ros2 security create_keystore, ` +
      'ros2 security generate_artifacts; list them with ros2 security list_enclaves) and start the launch with enclaves:=/naf_ros ' +
      '(docs/security.md). Without SROS2: unset ROS_SECURITY_ENABLE.';
  }
  if (secure && /rmw handle is invalid|DDS participant|participant/i.test(message)) {
    return `SROS2 is on (ROS_SECURITY_ENABLE=true) and DDS refused this node's participant. Usual causes: the keystore ${ks} was made ` +
      `for another ROS_DOMAIN_ID (its governance and permissions name one domain; this node is on ${domain}: remake it with ` +
      'ROS_DOMAIN_ID set as here), certificates from another keystore, or an RMW without DDS security (docs/security.md).';
  }
  return `ROS 2 did not start (ROS_DISTRO ${env.ROS_DISTRO ?? 'unset'}, RMW ${env.RMW_IMPLEMENTATION ?? 'default'}, ROS_DOMAIN_ID ${domain}` +
    `${secure ? `, SROS2 on with keystore ${ks}` : ''}).`;
}
