/**
 * Builds every part of a training run from a validated config: tfjs backend, URDF, the embedded
 * MuJoCo arm (with gravity compensation), the arm's rigid-body model, the reach task, the agent
 * (NAF or DDPG), the dynamics models, the exploration noise, the episode actor and the learner.
 * The only place that knows all constructors.
 */
import type { NafConfig } from '../config/schema.js';
import { buildReachTask, resolveUrdfPath } from '../config/arm_checks.js';
import { initBackend, type BackendInfo } from '../agent/backend.js';
import { NafAgent } from '../agent/naf/agent.js';
import { nativeGemm, type Gemm } from '../nn/gemm.js';
import { DdpgAgent } from '../agent/ddpg/agent.js';
import { createNoise } from '../agent/noise.js';
import type { QAgent } from '../agent/types.js';
import { armSpecFromUrdf, loadUrdf, type UrdfModel } from '../env/urdf.js';
import { MujocoArm } from '../env/mujoco_arm.js';
import type { ReachTask } from '../env/reach_task.js';
import { RigidBodyModel } from '../env/rigid_body.js';
import type { Arm, ArmSpec, Task } from '../env/types.js';
import { checkNodeDamping, configDampingPlan, supervisorOptions } from '../config/control_law.js';
import { DampingInjection, type DampingPlan } from '../control/damping_injection.js';
import { SafetySupervisor } from '../safety/supervisor.js';
import { SupervisedArm } from '../safety/supervised_arm.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { TvlgDynamics } from '../model/tvlg.js';
import { NnDynamics } from '../model/nn_dynamics.js';
import { TrueDynamics } from '../model/true_dynamics.js';
import type { DynamicsModel } from '../model/types.js';
import { Rng } from '../util/rng.js';
import { EpisodeActor } from './episode_actor.js';
import { Learner, type ArmModels } from './learner.js';

/** Resolves a path of the config relative to the project root (where `urdf/` lives); absolute paths stay. */
export function projectPath(p: string): string {
  return resolveUrdfPath(p);
}

/** The URDF of the config (`urdf_path`, absolute or relative to the project root). @throws UrdfError */
export function loadConfigUrdf(config: NafConfig): UrdfModel {
  return loadUrdf(projectPath(config.urdf_path));
}

/** Limits of the config's joints, in the config's order, from its URDF. */
export function buildSpec(config: NafConfig, urdf = loadConfigUrdf(config)): ArmSpec {
  return armSpecFromUrdf(urdf, config.joints);
}

/** What a checkpoint must match to be loaded: the arm's joints and the learning dimensions. */
export interface ArmSignature {
  joints: string[];
  dX: number;
  dU: number;
}

export function armSignature(parts: { spec: ArmSpec; task: Task }): ArmSignature {
  return { joints: parts.spec.jointNames, dX: parts.task.dX, dU: parts.task.dU };
}

/** @throws Error naming both arms when the checkpoint at `path` was trained on another one. */
export function assertSameArm(path: string, saved: ArmSignature, parts: { spec: ArmSpec; task: Task }): void {
  const current = armSignature(parts);
  if (JSON.stringify(saved) !== JSON.stringify(current)) {
    throw new Error(`checkpoint ${path} is for another arm: ${JSON.stringify(saved)}, this config gives ${JSON.stringify(current)}`);
  }
}

/**
 * The reach task of the config on the URDF of the config.
 * @throws ConfigError naming the parameter when the config does not fit the arm.
 */
export function buildTask(config: NafConfig, urdf = loadConfigUrdf(config)): ReachTask {
  return buildReachTask(config, urdf);
}

/** The arm's rigid-body model (g(q), M(q); MuJoCo on the config's URDF), for the config's joints. */
export function buildArmDynamics(config: NafConfig): Promise<RigidBodyModel> {
  return RigidBodyModel.create(projectPath(config.urdf_path), config.joints, { meshSearchPath: config.mesh_search_path });
}

/**
 * The damping plan of a config on its arm (`safety.damping_injection`; src/control/damping_injection.ts).
 * @throws ConfigError naming `safety.joint_damping` when it does not fit the joints.
 */
export function buildDampingPlan(config: NafConfig, urdf = loadConfigUrdf(config), task = buildTask(config, urdf)): DampingPlan {
  return configDampingPlan(config, urdf, buildSpec(config, urdf), task.uMax);
}

/**
 * [nJ] N·m·s/rad a simulator standing in for the robot adds to the config's joints: the injected
 * damping D with `safety.damping_injection: hardware` (the robot's own loop applies it), else 0.
 * For the MuJoCo bridges (`naf-ros run`, the in-process systems, `naf_sim_bridge`'s `joint_damping`).
 */
export function simulatedRobotDamping(config: NafConfig): Float64Array {
  return new DampingInjection(buildDampingPlan(config)).simulatorDamping();
}

/**
 * The embedded MuJoCo arm at the config's control period, behind the safety supervisor of the
 * config (`SupervisedArm`: the rules the ROS node applies when this params file is deployed, counted).
 * The simulator plays the robot wherever the config leaves a term to the hardware: with
 * `safety.damping_injection: hardware` the injected damping D is added to the simulated joints,
 * with `safety.gravity_compensation: hardware` g(q) is added as in `model` (the robot's driver
 * would add it); `node`-mode damping is added by the supervisor at the control rate, as on the node.
 * @param logger where the supervisor logs interventions (default: nowhere)
 * @throws ConfigError when `damping_injection: node` is not stable at this control rate.
 */
export async function buildArm(config: NafConfig, logger: Logger = silentLogger()): Promise<SupervisedArm> {
  const urdf = loadConfigUrdf(config);
  const task = buildTask(config, urdf);
  const spec = buildSpec(config, urdf);
  const plan = configDampingPlan(config, urdf, spec, task.uMax);
  const dynamics = await buildArmDynamics(config);
  try {
    checkNodeDamping(config, plan, dynamics);
    const arm = await MujocoArm.create(projectPath(config.urdf_path), {
      dt: 1 / config.control_rate_hz, jointNames: config.joints, meshSearchPath: config.mesh_search_path, jointDamping: new DampingInjection(plan).simulatorDamping(),
    });
    const s = config.safety;
    const simulated: NafConfig = s.gravity_compensation === 'hardware' ? { ...config, safety: { ...s, gravity_compensation: 'model' } } : config;
    const supervisor = new SafetySupervisor(spec, supervisorOptions(simulated, spec, plan, dynamics, task.chain), logger);
    return new SupervisedArm(arm, supervisor, dynamics);
  } catch (e) {
    dynamics.dispose();
    throw e;
  }
}

/**
 * The backend probe of `backend: auto` (`agent/backend.ts`): ms per update of this config's agent
 * (its network sizes, batch size, one thread) on random minibatches; 3 warm-up and 12 timed updates.
 * Always the update's tfjs path: the native path does not use the tfjs backend, so timing it would
 * tell the backends apart by noise.
 */
export function probeUpdateMs(config: NafConfig, task: Task, backend: string): number {
  const { dX, dU } = task;
  const B = config.agent.batch_size;
  const agent = buildAgent({ ...config, agent: { ...config.agent, learner_threads: 1, update_path: 'tfjs' } }, task);
  const rng = new Rng(`probe:${backend}`);
  const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const batch = { x: f(B * dX), u: f(B * dU), r: f(B), x2: f(B * dX), terminal: new Float32Array(B), B };
  try {
    for (let i = 0; i < 3; i++) agent.update(batch);
    const t0 = performance.now();
    for (let i = 0; i < 12; i++) agent.update(batch);
    return (performance.now() - t0) / 12;
  } finally {
    agent.dispose();
  }
}

/** NAF or DDPG with the config's network and optimiser settings. */
export function buildAgent(config: NafConfig, task: Task): QAgent {
  const a = config.agent;
  const common = {
    dX: task.dX, dU: task.dU, uMax: task.uMax, hidden: a.hidden, gamma: a.gamma, tau: a.tau,
    gradClipNorm: a.grad_clip_norm, seed: config.seed, batchNorm: a.batch_norm,
    normalizeActions: a.normalize_actions, normalizeObservations: a.normalize_observations,
  };
  if (a.kind === 'ddpg') return new DdpgAgent({ ...common, criticLr: a.learning_rate, actorLr: a.actor_learning_rate, weightDecay: a.critic_weight_decay });
  return new NafAgent({ ...common, lr: a.learning_rate, architecture: a.architecture, lDiagMaxExp: a.l_diag_max_exp, threads: a.learner_threads === 2 ? 2 : 1, gemm: updateGemm(config) });
}

/**
 * The native GEMM the NAF update runs on (`agent.update_path`), or null for the tfjs path.
 * @throws Error when update_path is native and the addon does not load (with the reason)
 */
export function updateGemm(config: NafConfig): Gemm | null {
  const a = config.agent;
  if (a.kind !== 'naf' || a.update_path === 'tfjs' || a.batch_norm) return null;
  const g = nativeGemm();
  if ('gemm' in g) return g.gemm;
  if (a.update_path === 'native') throw new Error(`agent.update_path: native, but the native GEMM is not available: ${g.error}`);
  return null;
}

export interface LearningParts {
  backend: BackendInfo;
  task: ReachTask;
  agent: QAgent;
  actor: EpisodeActor;
  learner: Learner;
  /** Independent stream for episode starts. */
  rng: Rng;
  spec: ArmSpec;
}

export interface TrainingParts extends LearningParts {
  arm: Arm;
}

/**
 * The episode actor of a config: p, its safety cap, exploration noise; random streams forked
 * from `root` (labels `noise`, `actor`).
 */
export function buildActor(config: NafConfig, task: Task, root: Rng): EpisodeActor {
  const ex = config.exploration;
  const mb = config.model_based;
  const noise = createNoise(ex.kind, { dU: task.dU, uMax: task.uMax, sigma: ex.sigma, theta: ex.theta, c: ex.precision_scale }, root.fork('noise'));
  return new EpisodeActor({
    uMax: task.uMax, onPolicyFraction: mb.on_policy_fraction, maxOnPolicyFraction: mb.max_on_policy_fraction,
    noise, ilqgNoise: ex.ilqg_noise,
  }, root.fork('actor'));
}

/**
 * One arm's models (`ArmLearning`): the TVLG fit of its episodes (Sec. 5.3), and the model of its
 * imagination rollouts (`model_based.dynamics`: that fit, a neural network, or the simulator).
 * A fleet learner builds one set per arm.
 */
export async function buildArmModels(config: NafConfig, task: ReachTask): Promise<ArmModels> {
  const mb = config.model_based;
  const tvlg = new TvlgDynamics({ T: task.T, dX: task.dX, dU: task.dU, priorStrength: mb.prior_strength });
  let imaginationModel: DynamicsModel = tvlg;
  if (mb.dynamics === 'nn') imaginationModel = new NnDynamics({ dX: task.dX, dU: task.dU, seed: config.seed });
  if (mb.dynamics === 'true') imaginationModel = new TrueDynamics(await buildArm(config), task);
  return { tvlg, imaginationModel };
}

/**
 * Agent, models, actor and learner of a run, seeded from `config.seed`, without the arm (the
 * ROS node's learner worker uses this; `buildTraining` adds the embedded arm).
 */
export async function buildLearning(config: NafConfig): Promise<LearningParts> {
  const urdf = loadConfigUrdf(config);
  const task = buildTask(config, urdf);
  const backend = await initBackend(config.backend === 'auto' ? undefined : config.backend, (name) => probeUpdateMs(config, task, name));
  const agent = buildAgent(config, task);
  if (agent instanceof NafAgent && config.agent.learner_threads === 2) await agent.startWorker();
  const root = new Rng(config.seed);
  const { tvlg, imaginationModel } = await buildArmModels(config, task);
  const actor = buildActor(config, task, root);
  const learner = new Learner({ config, task, agent, tvlg, imaginationModel, rng: root.fork('learner') });
  actor.setPolicy(agent.snapshot());
  actor.setController(learner.controller);
  const spec = buildSpec(config, urdf);
  return { backend, task, agent, actor, learner, rng: root.fork('episodes'), spec };
}

/**
 * Everything an embedded training run needs: `buildLearning` plus the MuJoCo arm behind the
 * supervisor (`buildArm`; its interventions logged to `logger`).
 */
export async function buildTraining(config: NafConfig, logger?: Logger): Promise<TrainingParts> {
  const arm = await buildArm(config, logger);
  try {
    const parts = await buildLearning(config);
    return { ...parts, arm };
  } catch (e) {
    arm.dispose();
    throw e;
  }
}
