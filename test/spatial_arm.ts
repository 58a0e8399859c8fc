/** Test fixture shared by the kinematics and task tests. */
/** A spatial arm: rpy origins, tilted axes, a prismatic joint and fixed offsets, to exercise every FK term. */
export const SPATIAL = `<?xml version="1.0"?>
<robot name="spatial">
  <link name="world"/>
  <joint name="mount" type="fixed"><parent link="world"/><child link="base"/><origin xyz="0.1 -0.2 0.3" rpy="0.3 -0.2 0.7"/></joint>
  ${['base', 'a', 'b', 'c', 'tool'].map((n) => `<link name="${n}"><inertial><origin xyz="0.02 0.01 0" rpy="0.1 0.2 0.3"/><mass value="0.2"/><inertia ixx="1e-3" ixy="0" ixz="0" iyy="1e-3" iyz="0" izz="1e-3"/></inertial></link>`).join('\n  ')}
  <joint name="q1" type="revolute"><parent link="base"/><child link="a"/><origin xyz="0 0 0.1" rpy="0 0 0.4"/><axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="q2" type="revolute"><parent link="a"/><child link="b"/><origin xyz="0.2 0.05 0" rpy="1.2 0.1 -0.3"/><axis xyz="0 1 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="q3" type="prismatic"><parent link="b"/><child link="c"/><origin xyz="0.15 0 0.02" rpy="-0.5 0.4 0"/><axis xyz="1 0.5 0"/><limit lower="-0.1" upper="0.1" effort="1" velocity="1"/></joint>
  <joint name="q4" type="continuous"><parent link="c"/><child link="tool"/><origin xyz="0.1 0 0" rpy="0 1.5707963267948966 0"/><axis xyz="1 0 0"/><limit effort="1" velocity="1"/></joint>
</robot>`;

