/**
 * The ROS 2 message types a rollout recording uses, as MCAP schemas and CDR writers.
 *
 * The definitions are the fields and constants of ROS 2 Humble's `.msg` files (common_interfaces
 * 4.2.x, geometry2 0.25.x, rcl_interfaces 1.2.x; comments left out); Jazzy and Rolling have the same
 * fields (Jazzy's Marker adds the constant ARROW_STRIP only), so the CDR bytes are what their type
 * support reads. A schema's text follows rosbag2's MCAP storage (`message_definition_cache.cpp`):
 * the type's own definition, then each dependency once (sorted by name, depth first), after a line of 80 `=` and
 * `MSG: <package>/<Type>` (as the field names it). Encodings: schema `ros2msg`, messages `cdr`.
 */
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';

/** Humble's definitions by type name as fields reference them (`package/Type`). */
const DEFINITIONS: Record<string, string> = {
  'builtin_interfaces/Time': 'int32 sec\nuint32 nanosec',
  'builtin_interfaces/Duration': 'int32 sec\nuint32 nanosec',
  'std_msgs/Header': 'builtin_interfaces/Time stamp\nstring frame_id',
  'std_msgs/String': 'string data',
  'std_msgs/ColorRGBA': 'float32 r\nfloat32 g\nfloat32 b\nfloat32 a',
  'geometry_msgs/Vector3': 'float64 x\nfloat64 y\nfloat64 z',
  'geometry_msgs/Point': 'float64 x\nfloat64 y\nfloat64 z',
  'geometry_msgs/Quaternion': 'float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1',
  'geometry_msgs/Pose': 'Point position\nQuaternion orientation',
  'geometry_msgs/Transform': 'Vector3 translation\nQuaternion rotation',
  'geometry_msgs/TransformStamped': 'std_msgs/Header header\nstring child_frame_id\nTransform transform',
  'tf2_msgs/TFMessage': 'geometry_msgs/TransformStamped[] transforms',
  'sensor_msgs/JointState': 'std_msgs/Header header\n\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort',
  'sensor_msgs/CompressedImage': 'std_msgs/Header header\nstring format\nuint8[] data',
  'visualization_msgs/UVCoordinate': 'float32 u\nfloat32 v',
  'visualization_msgs/MeshFile': 'string filename\nuint8[] data',
  'visualization_msgs/Marker': [
    'int32 ARROW=0', 'int32 CUBE=1', 'int32 SPHERE=2', 'int32 CYLINDER=3', 'int32 LINE_STRIP=4', 'int32 LINE_LIST=5',
    'int32 CUBE_LIST=6', 'int32 SPHERE_LIST=7', 'int32 POINTS=8', 'int32 TEXT_VIEW_FACING=9', 'int32 MESH_RESOURCE=10',
    'int32 TRIANGLE_LIST=11', '', 'int32 ADD=0', 'int32 MODIFY=0', 'int32 DELETE=2', 'int32 DELETEALL=3', '',
    'std_msgs/Header header', 'string ns', 'int32 id', 'int32 type', 'int32 action', 'geometry_msgs/Pose pose',
    'geometry_msgs/Vector3 scale', 'std_msgs/ColorRGBA color', 'builtin_interfaces/Duration lifetime', 'bool frame_locked',
    'geometry_msgs/Point[] points', 'std_msgs/ColorRGBA[] colors', 'string texture_resource', 'sensor_msgs/CompressedImage texture',
    'UVCoordinate[] uv_coordinates', 'string text', 'string mesh_resource', 'MeshFile mesh_file', 'bool mesh_use_embedded_materials',
  ].join('\n'),
};

/** The message types a recording writes, by their ROS 2 name. */
export type RecordedType = 'std_msgs/msg/String' | 'sensor_msgs/msg/JointState' | 'tf2_msgs/msg/TFMessage' | 'visualization_msgs/msg/Marker';

const PRIMITIVES = new Set(['bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'string']);

/** Field types a definition references, as written (`Point`, `std_msgs/Header`), sorted (rosbag2 keeps them in a std::set). */
function dependencies(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_/]+)(?:\[[^\]]*\])?\s+[A-Za-z_]/.exec(line);
    if (m && !PRIMITIVES.has(m[1]) && !/=/.test(line) && !out.includes(m[1])) out.push(m[1]);
  }
  return out.sort();
}

/** `package/Type` of a field type written in `pkg`'s definition. */
const qualify = (type: string, pkg: string) => (type.includes('/') ? type : `${pkg}/${type}`);

/**
 * The `ros2msg` schema text of a type (its definition and its dependencies', rosbag2's layout).
 * @throws Error for a type this module does not define.
 */
export function schemaText(type: RecordedType): string {
  const [pkg, , name] = type.split('/');
  const seen = new Set<string>();
  const full = (key: string): string => {
    const text = DEFINITIONS[key];
    if (text === undefined) throw new Error(`no definition of ${key}`);
    const p = key.split('/')[0];
    let out = text;
    for (const q of dependencies(text).map((d) => qualify(d, p)).sort()) {
      if (seen.has(q)) continue;
      seen.add(q);
      out += `\n${'='.repeat(80)}\nMSG: ${q}\n${full(q)}`;
    }
    return out;
  };
  return full(`${pkg}/${name}`);
}

const writers = new Map<RecordedType, MessageWriter>();

/** CDR bytes (with the 4-byte encapsulation header, little endian) of a message of `type`. */
export function encodeCdr(type: RecordedType, message: unknown): Uint8Array {
  let w = writers.get(type);
  if (!w) {
    w = new MessageWriter(parse(schemaText(type), { ros2: true }));
    writers.set(type, w);
  }
  return w.writeMessage(message);
}
