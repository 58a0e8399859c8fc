/**
 * The configuration of naf_ros: one JSON schema, used three ways —
 *  1. to validate a ROS 2 params file (`naf_trainer: ros__parameters: {...}`) read with js-yaml,
 *  2. to fill defaults (the paper's where it gives one, ours documented where it does not),
 *  3. to declare the node's ROS parameters (description, range, read-only) in `src/ros`.
 *
 * Keys are snake_case as ROS parameters are; nested groups become dotted parameter names
 * (`agent.learning_rate`). Units are in each description.
 */
import type { JSONSchemaType } from 'ajv';

export type TargetMode = 'fixed' | 'random';
export type AgentKind = 'naf' | 'ddpg';
export type NoiseKind = 'ou' | 'gaussian' | 'precision' | 'none';
export type DynamicsKind = 'tvlg' | 'nn' | 'true';
export type GravityCompensationKind = 'none' | 'model' | 'hardware';
export type DampingInjectionKind = 'none' | 'node' | 'hardware';

export type RunMode = 'train' | 'deploy';
/** naf_trainer: `single` = one arm with its own learner thread; `actor` = one arm of a fleet (docs/fleet.md). */
export type FleetRole = 'single' | 'actor';

export interface NafConfig {
  mode: RunMode;
  seed: number;
  urdf_path: string;
  mesh_search_path: string[];
  joints: string[];
  control_rate_hz: number;
  run_dir: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  task: {
    horizon: number;
    home_pose: number[];
    init_std: number;
    target_mode: TargetMode;
    fixed_target: number[];
    random_target_spread: number;
    torque_penalty: number;
    distance_smoothing: number;
    tip_link: string;
    action_effort_fraction: number;
  };
  agent: {
    kind: AgentKind;
    architecture: 'separate' | 'shared';
    hidden: number[];
    batch_norm: boolean;
    learning_rate: number;
    actor_learning_rate: number;
    gamma: number;
    tau: number;
    batch_size: number;
    updates_per_step: number;
    replay_capacity: number;
    reward_scale: number;
    grad_clip_norm: number;
    l_diag_max_exp: number;
    warmup_steps: number;
    learner_threads: number;
    update_path: 'auto' | 'native' | 'tfjs';
    policy_averaging: number;
    normalize_actions: boolean;
    normalize_observations: boolean;
    critic_weight_decay: number;
  };
  exploration: {
    kind: NoiseKind;
    sigma: number;
    theta: number;
    precision_scale: number;
    ilqg_noise: boolean;
  };
  model_based: {
    enabled: boolean;
    dynamics: DynamicsKind;
    on_policy_fraction: number;
    max_on_policy_fraction: number;
    refit_every_episodes: number;
    imagination_every_steps: number;
    imagination_starts: number;
    imagination_length: number;
    imagination_off_after_episodes: number;
    fictional_capacity: number;
    fictional_max_age_refits: number;
    prior_strength: number;
    ilqg_kl_step: number;
    ilqg_init_var: number;
  };
  training: {
    episodes: number;
    eval_every_episodes: number;
    eval_episodes: number;
    eval_seed: number;
    checkpoint_every_episodes: number;
    publish_policy_every_updates: number;
    test_episodes: number;
    test_seed: number;
    test_random_targets: number;
  };
  deploy: {
    checkpoint: string;
    episodes: number;
  };
  safety: {
    max_effort: number;
    state_timeout_ms: number;
    velocity_limit: number;
    soft_limit_margin: number;
    gravity_compensation: GravityCompensationKind;
    damping_injection: DampingInjectionKind;
    joint_damping: number[];
    damping_speed_fraction: number;
    workspace_min: number[];
    workspace_max: number[];
    homing_kp: number;
    homing_kd: number;
    homing_max_effort: number;
    homing_timeout_s: number;
    homing_tolerance: number;
  };
  ros: {
    joint_states_topic: string;
    effort_command_topic: string;
    estop_topic: string;
    resume: string;
    max_learner_lag_ms: number;
    learner_nice: number;
    rt_priority: number;
    joint_states_conflict_hold_s: number;
    eval_every_episodes: number;
  };
  fleet: {
    role: FleetRole;
    episodes_topic: string;
    policy_topic: string;
    status_topic: string;
    controller_topic: string;
    save_service: string;
    episode_history: number;
    arm_timeout_s: number;
  };
}

const num = (description: string, minimum?: number, maximum?: number, exclusiveMinimum?: number) =>
  ({ type: 'number', description, minimum, maximum, exclusiveMinimum }) as const;
const int = (description: string, minimum: number, maximum?: number) =>
  ({ type: 'integer', description, minimum, maximum }) as const;
const numArray = (description: string, minItems?: number, maxItems?: number) =>
  ({ type: 'array', items: { type: 'number' }, description, minItems, maxItems }) as const;

/** JSON schema with defaults. `additionalProperties: false` everywhere: unknown keys are errors. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['train', 'deploy'], description: 'naf_trainer: train = learn on the arm (Algorithm 2); deploy = run the greedy policy of deploy.checkpoint with the safety supervisor, homing, watchdog and e-stop, and no learning, exploration or iLQG (read-only).', default: 'train' },
    seed: { ...int('Random seed of the whole run (weights, noise, episodes).', 0), default: 1 },
    urdf_path: { type: 'string', description: 'URDF of the arm (plain URDF, not xacro; in a params file relative to the file\'s folder, the default relative to the naf_ros folder): kinematics, limits, inertials.', default: 'urdf/reacher3.urdf' },
    mesh_search_path: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Folders that hold ROS packages, searched in order for the URDF\'s package://<pkg>/<file> collision meshes as <folder>/<pkg>/<file> before the package path of a sourced ROS (AMENT_PREFIX_PATH as <prefix>/share/<pkg>/<file>, ROS_PACKAGE_PATH); in a params file relative to the file\'s folder. The embedded simulator (MuJoCo) loads binary STL and OBJ collision meshes it finds; a mesh not found or of another format (Collada .dae, ASCII STL) is left out, and every run says so in one line.', default: [] },
    joints: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Controlled joints, in command order: the movable joints from the URDF root to task.tip_link, base to tip.', default: ['joint1', 'joint2', 'joint3'] },
    control_rate_hz: { ...num('Control rate, Hz; the control period dt = 1/rate is one environment step (embedded arm: a whole multiple of its 2 ms physics step).', 1, 500), default: 50 },
    run_dir: { type: 'string', description: 'Folder under which each run writes logs, metrics and checkpoints.', default: 'runs' },
    backend: { type: 'string', enum: ['auto', 'tensorflow', 'wasm', 'cpu'], description: 'tfjs backend; auto = tensorflow > wasm > cpu.', default: 'auto' },
    task: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        horizon: { ...int('Episode length T, control steps (fixed, Sec. 5.3).', 2, 100000), default: 50 },
        home_pose: { ...numArray('Home joint positions, rad (m for prismatic joints), one per joint, within the soft limits (episode start mean, homing goal).', 1), default: [0.0, 0.8, 0.8] },
        init_std: { ...num('Std of the initial joint positions/velocities around home, rad and rad/s.', 0, 1), default: 0.02 },
        target_mode: { type: 'string', enum: ['fixed', 'random'], description: 'fixed = single target (paper Sec. 6.3); random = a new target per episode.', default: 'fixed' },
        fixed_target: { ...numArray('Target of the fixed mode, m, URDF root frame: [x, y, z]; a planar arm also takes its 2 in-plane coordinates (the third is the tip\'s constant one). Must be reachable within the soft limits.', 2, 3), default: [0.2, -0.02] },
        random_target_spread: { ...num('Random mode: targets are the tip positions of joint configurations uniform in home_pose +- this (rad; m for prismatic joints), within the soft limits and the workspace box.', 0, undefined, 0), default: Math.PI },
        torque_penalty: { ...num('Weight of sum (u/u_max)^2 in the reward.', 0), default: 0.01 },
        distance_smoothing: { ...num('delta of the smooth distance sqrt(d^2+delta^2)-delta, m.', 0), default: 0.01 },
        tip_link: { type: 'string', description: 'URDF link whose frame origin is brought to the target (the tool frame, e.g. tool0).', default: 'fingertip' },
        action_effort_fraction: { ...num('Policy torque bound u_max = this x the URDF effort limit of each joint; leave room for gravity compensation (the clamp bounds u + g(q)).', 0, 1, 0), default: 1 },
      },
      required: [],
    },
    agent: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        kind: { type: 'string', enum: ['naf', 'ddpg'], description: 'naf (paper Sec. 4) or the DDPG baseline.', default: 'naf' },
        architecture: { type: 'string', enum: ['separate', 'shared'], description: 'separate networks per NAF head (paper) or a shared trunk.', default: 'separate' },
        hidden: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'Hidden layer sizes (ReLU).', default: [200, 200] },
        batch_norm: { type: 'boolean', description: 'Batch normalisation of hidden layers (paper: tuned per domain).', default: false },
        learning_rate: { ...num('Adam learning rate (NAF; DDPG critic).', 0, 1, 0), default: 0.001 },
        actor_learning_rate: { ...num('Adam learning rate of the DDPG actor.', 0, 1, 0), default: 0.0001 },
        gamma: { ...num('Discount factor.', 0, 1), default: 0.98 },
        tau: { ...num('Soft target update rate, theta\' <- tau theta + (1-tau) theta\'.', 0, 1, 0), default: 0.005 },
        batch_size: { ...int('Minibatch size (Algorithm 2\'s m for updates).', 1, 4096), default: 64 },
        updates_per_step: { ...int('I, gradient updates per environment step (paper: 5).', 0, 100), default: 5 },
        replay_capacity: { ...int('Replay buffer R capacity, transitions.', 1000), default: 1000000 },
        reward_scale: { ...num('Rewards are multiplied by this before learning.', 0, undefined, 0), default: 1 },
        grad_clip_norm: { ...num('Global gradient-norm clip (0 = off).', 0), default: 10 },
        l_diag_max_exp: { ...num('Clamp of the pre-exponent of L\'s diagonal, |.| <= this.', 0, 20, 0), default: 5 },
        warmup_steps: { ...int('Environment steps before the first update.', 0), default: 200 },
        policy_averaging: { ...num('Policy averaging: after every real episode avg <- (1 - beta) avg + beta theta (Polyak-Ruppert averaging of the weights), started at the first episode with updates (never at the random initial weights) and bias-corrected as Adam\'s moments are: with k episodes averaged the greedy weights are the EMA divided by 1 - (1 - beta)^k, so after the first one they equal the online weights and every later one weights episode i by beta (1 - beta)^(k-i) / (1 - (1 - beta)^k). The averaged policy is the greedy one (evaluation, held-out test, checkpoints\' policy, deploy), exploration keeps the online weights. beta per episode; 0 = off.', 0, 1), default: 0 },
        normalize_actions: { type: 'boolean', description: 'The networks work on actions u/u_max in [-1, 1] (P dimensionless); torques are scaled at the arm. false: on torques in N·m (what a checkpoint saved without action normalisation needs).', default: true },
        normalize_observations: { type: 'boolean', description: 'Running mean/std normalisation of the observation at the network inputs (statistics from the minibatches, frozen within an update, checkpointed, sent to the actor).', default: false },
        critic_weight_decay: { ...num('DDPG: L2 weight decay of the critic\'s weight matrices (DDPG paper: 1e-2; 0 here: with TD errors ~1e-3 it dominated the critic\'s gradient).', 0), default: 0 },
        learner_threads: { ...int('Threads of one NAF update: 2 splits it by networks between the learner\'s thread and a second one (same results to float32 tolerance, ~1.3-1.5x the updates/s on 2 cores; NAF with the separate architecture only).', 1, 2), default: 1 },
        update_path: { type: 'string', enum: ['auto', 'native', 'tfjs'], description: 'Where the NAF update\'s dense layers run: native = a BLAS GEMM (OpenBLAS through the optional addon native/blas, built at npm ci when libopenblas-dev and a C compiler are present; npm run build:native) over the flat weight buffers, ~4.6x the updates/s of tfjs-wasm here (bench --peers, 2 cores); tfjs = the tfjs backend. auto = native when the addon loads and batch_norm is off, else tfjs. Same results to float32 tolerance. DDPG always uses tfjs.', default: 'auto' },
      },
      required: [],
    },
    exploration: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        kind: { type: 'string', enum: ['ou', 'gaussian', 'precision', 'none'], description: 'ou, gaussian, or precision = OU with innovations ~ N(0, c P(x)^-1) (appendix 8.2).', default: 'ou' },
        sigma: { ...num('Noise scale as a fraction of u_max (OU: sigma of the SDE, x += theta(0-x)dt + sigma sqrt(dt) eps, dt = 1 s per step).', 0, 10), default: 0.3 },
        theta: { ...num('OU mean-reversion rate per step.', 0, 1), default: 0.15 },
        precision_scale: { ...num('c in N(0, c P^-1) for the precision noise.', 0), default: 1 },
        ilqg_noise: { type: 'boolean', description: 'Sample iLQG episodes from N(., Sigma_t) (eq. 4) rather than its mean.', default: true },
      },
      required: [],
    },
    model_based: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        enabled: { type: 'boolean', description: 'Imagination rollouts (Algorithm 2). false = Algorithm 1 (with p and iLQG still applying if p < 1).', default: true },
        dynamics: { type: 'string', enum: ['tvlg', 'nn', 'true'], description: 'Imagination model: tvlg (Sec. 5.3), nn (paper "-NN"), true (the simulator).', default: 'tvlg' },
        on_policy_fraction: { ...num('p: probability that an episode runs the NAF policy; otherwise iLQG.', 0, 1), default: 0.5 },
        max_on_policy_fraction: { ...num('Safety cap on p (read-only at run time).', 0, 1), default: 1 },
        refit_every_episodes: { ...int('n: episodes per model refit (size of B_f is nT; paper: 5).', 1, 1000), default: 5 },
        imagination_every_steps: { ...int('m (Algorithm 2 line 148): imagine every m real steps.', 1), default: 10 },
        imagination_starts: { ...int('m (line 149): start states sampled from B_old per imagination round.', 1), default: 10 },
        imagination_length: { ...int('l: steps per imagined rollout (paper: 10 on reacher).', 1, 1000), default: 10 },
        imagination_off_after_episodes: { ...int('Switch imagination off after this many episodes (paper: 130 on gripper).', 0), default: 130 },
        fictional_capacity: { ...int('Fictional buffer R_f capacity, transitions.', 100), default: 100000 },
        fictional_max_age_refits: { ...int('k: R_f keeps only the rollouts imagined under the models of the last k refits (older ones are dropped at each refit; refits happen every n episodes); 0 = no age bound (Algorithm 2 as written: R_f is a plain ring of fictional_capacity).', 0, 1000), default: 2 },
        prior_strength: { ...num('Strength of the pooled normal-inverse-Wishart prior of the TVLG fit.', 0), default: 1 },
        ilqg_kl_step: { ...num('iLQG KL trust region epsilon per step (total epsilon*T).', 0, undefined, 0), default: 0.5 },
        ilqg_init_var: { ...num('Variance of the initial iLQG controller (zero mean, before the first refit) per joint, as a fraction of that joint\'s u_max^2 (dimensionless; std = sqrt(fraction) u_max: 0.1 gives 0.32 u_max).', 0, 1, 0), default: 0.1 },
      },
      required: [],
    },
    training: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        episodes: { ...int('Training budget, real episodes.', 1), default: 200 },
        eval_every_episodes: { ...int('Test-return protocol: evaluate the greedy policy every k episodes.', 1), default: 10 },
        eval_episodes: { ...int('Evaluation episodes per evaluation (fixed starts, held out from training).', 1), default: 5 },
        eval_seed: { ...int('Seed of the fixed evaluation starts (drawn from a stream disjoint from training\'s); the best evaluation picks checkpoints/best.', 0), default: 12345 },
        checkpoint_every_episodes: { ...int('Checkpoint period, episodes (1: a crash loses at most the episode in progress).', 1), default: 1 },
        publish_policy_every_updates: { ...int('The actor receives fresh weights every this many updates.', 1), default: 50 },
        test_episodes: { ...int('Held-out test at the end of a run (and `naf-ros eval`): episodes for the final and the best policy.', 1), default: 20 },
        test_seed: { ...int('Seed of the held-out test starts (drawn from a stream disjoint from training and from eval_seed\'s).', 0), default: 2024 },
        test_random_targets: { ...int('Held-out test at the end of a run, beside test_episodes: episodes on random reachable targets across the workspace (task.random_target_spread, seed test_seed, its own stream), also when training on a fixed target; 0 = none.', 0), default: 20 },
      },
      required: [],
    },
    deploy: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        checkpoint: { type: 'string', description: 'mode deploy: a run folder (its newest checkpoint) or a checkpoint file (.safetensors; e.g. <run>/checkpoints/best.safetensors).', default: '' },
        episodes: { ...int('mode deploy: episodes to run, then hold zero torque (0 = until stopped).', 0), default: 0 },
      },
      required: [],
    },
    safety: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        max_effort: { ...num('Torque cap, N·m (applied as min with the URDF effort limit).', 0), default: 1000 },
        state_timeout_ms: { ...num('Watchdog: joint states older than this give zero torque, ms.', 1), default: 100 },
        velocity_limit: { ...num('Joint speed above which accelerating torque is removed, rad/s.', 0, undefined, 0), default: 20 },
        soft_limit_margin: { ...num('Soft position limits lie this far inside the URDF limits, rad.', 0), default: 0.1 },
        gravity_compensation: { type: 'string', enum: ['none', 'model', 'hardware'], description: 'Who holds the arm against gravity: model = naf_ros adds g(q) (MuJoCo, from the URDF inertials) to every torque; hardware = the robot driver does; none = the learner must.', default: 'none' },
        damping_injection: { type: 'string', enum: ['none', 'node', 'hardware'], description: 'Where the damping term −D q̇ of the control law u + g(q) − D q̇ runs (src/control/damping_injection.ts): hardware = in the robot\'s own fast loop (driver joint-impedance mode with zero stiffness, or a ros2_control controller); the embedded MuJoCo arm, the MuJoCo bridge and gazebo.launch.py simulate it in the joints at every physics step; node = naf_ros adds it to every command at control_rate_hz, refused at start where that sampled loop is not stable (dt·λ_max(M⁻¹D) > 0.5); none = no injection (the URDF damping only).', default: 'hardware' },
        joint_damping: { ...numArray('Injected damping D per joint (order of joints), N·m·s/rad (N·s/m prismatic), on top of the URDF\'s; [] = derived: D_j = max(0, u_max_j / (damping_speed_fraction · v_j) − b_j), v_j = min(URDF velocity limit, velocity_limit), b_j the URDF damping (`naf-ros arm` prints it).'), default: [] },
        damping_speed_fraction: { ...num('κ of the derived damping: at the full policy torque u_max a joint settles at κ × its speed limit (0.4: 8 of 20 rad/s on reacher3, 1.26 of π rad/s on the UR5e).', 0, 1, 0), default: 0.4 },
        workspace_min: { ...numArray('Workspace box for the tip, lower corner [x, y, z], m, URDF root frame; [] = unbounded. Outside it, the torque driving the tip further out is removed.', 0, 3), default: [] },
        workspace_max: { ...numArray('Workspace box for the tip, upper corner [x, y, z], m; [] = unbounded.', 0, 3), default: [] },
        homing_kp: { ...num('Homing PD stiffness, N·m/rad; 0 = derived per joint from M(q_home), the joint damping (URDF + injected) and the control period (docs/your-arm.md, "Gravity, homing and the workspace box").', 0), default: 0 },
        homing_kd: { ...num('Homing PD damping, N·m·s/rad; 0 = derived (see homing_kp).', 0), default: 0 },
        homing_max_effort: { ...num('Homing torque cap, N·m, on the PD part; 0 = the policy bound u_max per joint (any value is also capped by u_max; gravity compensation comes on top).', 0), default: 0 },
        homing_timeout_s: { ...num('Give up homing after this long, s.', 0, undefined, 0), default: 10 },
        homing_tolerance: { ...num('Homed when |q - q_home| < tol rad and |qd| < tol rad/s.', 0, undefined, 0), default: 0.03 },
      },
      required: [],
    },
    ros: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        joint_states_topic: { type: 'string', description: 'sensor_msgs/msg/JointState input.', default: '/joint_states' },
        effort_command_topic: { type: 'string', description: 'std_msgs/msg/Float64MultiArray torque output (ros2_control JointGroupEffortController).', default: '/effort_controller/commands' },
        estop_topic: { type: 'string', description: 'std_msgs/msg/Bool latched e-stop (true = stop).', default: '~/estop' },
        resume: { type: 'string', description: 'Run folder to resume the learner from (its newest checkpoint; "" = new run).', default: '' },
        max_learner_lag_ms: { ...num('Real-time policy of the learner thread: a transition older than this when the learner reaches it is stored but trains no update (counted).', 0), default: 100 },
        eval_every_episodes: { ...int('naf_trainer (train mode, one arm): after every k completed training episodes, training.eval_episodes greedy episodes of the learner\'s greedy policy (the averaged weights with agent.policy_averaging) from the fixed evaluation starts (training.eval_seed), on the arm: homing, the safety supervisor and the watchdog as in training, no exploration, nothing learned from them; the run folder\'s eval.jsonl records each evaluation (naf-ros report plots it). 0 = off (they cost arm time: on hardware, choose k).', 0), default: 0 },
        learner_nice: { ...int('Scheduling niceness of the learner thread (Linux, per thread; 0 = as the control thread, 19 = lowest): on a loaded CPU the control loop and DDS run first.', 0, 19), default: 10 },
        rt_priority: { ...int('Real-time scheduling of the node: SCHED_FIFO priority of the control thread, the executor and DDS (the learner\'s threads and Node\'s helper threads stay at normal scheduling), as ros2_control\'s thread_priority (also 50); 0 = normal scheduling. Needs CAP_SYS_NICE or an rtprio limit (Linux); without them a warning and normal scheduling.', 0, 99), default: 50 },
        joint_states_conflict_hold_s: { ...num('Publisher rule: joint states from a second publisher hold zero torque until none has come for this long, s; a source silent this long is replaced by the next publisher.', 0.05, 60), default: 1 },
      },
      required: [],
    },
    fleet: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        role: { type: 'string', enum: ['single', 'actor'], description: 'naf_trainer: single = one arm learning in its own learner thread; actor = one arm of a fleet: its episodes go to the fleet learner (naf_learner) over fleet.episodes_topic, and it acts with the policy parameters and its own iLQG controller the learner publishes back (read-only).', default: 'single' },
        episodes_topic: { type: 'string', description: 'Actors publish their finished episodes here, the learner subscribes (std_msgs/msg/Float64MultiArray, labelled sections; reliable, transient local).', default: '/learner/episodes' },
        policy_topic: { type: 'string', description: 'The learner publishes the policy parameters here every training.publish_policy_every_updates updates (std_msgs/msg/Float64MultiArray; latched: reliable, transient local, depth 1).', default: '/learner/policy' },
        status_topic: { type: 'string', description: 'The learner publishes its status here once a second and when the budget is reached (std_msgs/msg/Float64MultiArray: counts, budget, done; latched): the actors\' sign that the learner is alive, and their signal to stop.', default: '/learner/status' },
        controller_topic: { type: 'string', description: 'Each arm\'s iLQG controller, a name relative to the arm\'s namespace (e.g. /arm1/ilqg_controller): published by the learner after every refit of that arm, latched.', default: 'ilqg_controller' },
        save_service: { type: 'string', description: 'The learner\'s ~/save service (std_srvs/srv/Trigger), which an actor\'s ~/save calls.', default: '/naf_learner/save' },
        episode_history: { ...int('Episodes each actor keeps for a learner that starts or restarts later (QoS depth of its transient-local episode publisher); the learner drops the ones it already has.', 1, 1000), default: 32 },
        arm_timeout_s: { ...num('Learner: an arm that sent no episode for this long is reported as silent (log, /diagnostics); its data stay in R, training goes on with the others, s.', 1, 86400), default: 30 },
      },
      required: [],
    },
  },
  required: [],
} as unknown as JSONSchemaType<NafConfig>;

/**
 * Parameters that hold a file or folder path, or a list of them (`mesh_search_path`). A relative
 * path written in a params file is relative to that file's folder (`src/config/params_file.ts`).
 */
export const PATH_PARAMETERS: readonly string[] = ['urdf_path', 'mesh_search_path', 'run_dir', 'ros.resume', 'deploy.checkpoint'];

/**
 * Parameters a running node applies immediately (`ros2 param set`); every other parameter is
 * read-only at run time: the safety values are the safety engineer's launch-time decision, and the
 * learning hyper-parameters live in the learner thread, which cannot take them mid-run.
 */
export const LIVE_PARAMETERS: ReadonlySet<string> = new Set([
  'model_based.on_policy_fraction',
  'safety.homing_kp', 'safety.homing_kd', 'safety.homing_max_effort', 'safety.homing_timeout_s', 'safety.homing_tolerance',
]);
