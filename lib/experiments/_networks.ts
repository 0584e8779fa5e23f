/**
 * The networks and optimizers of a run, built from its config.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { decodeWeightsInto } from "../models/checkpoint.ts";
import { resNet } from "../models/resnet.ts";
import { type SrResNet, srResNet } from "../models/sr_resnet.ts";
import { unet } from "../models/unet.ts";
import { FusedAdam, FusedSgd } from "../train/fused_optimizer.ts";
import type { Recognizer, TrainStepSetup, VrMode } from "../train/train_step.ts";
import type { Rng } from "../util/rng.ts";
import type { ExperimentConfig } from "./config.ts";
import { subtasks } from "./_data.ts";

/** One recognition task of a run (`diagnosis+segmentation` runs have both). */
export type SubTask = "diagnosis" | "segmentation";

/** The optimizer of a config's `train.optimizer`. */
export function makeOptimizer(kind: "adam" | "sgd", lr: number): tf.Optimizer {
  // One pass over all variables, bit-identical to tf.train.adam / tf.train.sgd.
  if (kind === "adam") return new FusedAdam(lr);
  if (kind === "sgd") return new FusedSgd(lr);
  throw new TypeError(`Expected optimizer "adam" or "sgd" but found "${kind}"`);
}

/** The VR network of a task: the ResNet for diagnosis, the U-Net for segmentation. */
export function makeVr(config: ExperimentConfig, seed: number, task: SubTask): Recognizer {
  return task === "segmentation" ? unet(config.seg, seed) : resNet(config.vr, seed);
}

/** Number of classes of a recognition task. */
export function classesOf(config: ExperimentConfig, task: SubTask): number {
  return task === "segmentation" ? config.seg.classes : config.vr.classes;
}

/** A run's networks and their optimizers (the VRs in the order of the config's tasks). */
export interface RunNetworks {
  ip: SrResNet;
  vrs: Recognizer[];
  ipOptimizer: tf.Optimizer;
  vrOptimizers: tf.Optimizer[];
}

/** A VR pre-training's weights, and the file they were read from (named in errors). */
export interface PretrainedWeights {
  weights: Uint8Array;
  weightsPath: string;
}

/**
 * Builds a run's networks, each VR starting from its pre-training's
 * weights (unless a trained VR starts from scratch), and their optimizers;
 * `owned` gets each to dispose of.
 *
 * @throws {Error} Naming the pre-training's weights file when its weights do not fit the VR.
 */
export function buildNetworks(
  config: ExperimentConfig,
  rng: Rng,
  pretrained: PretrainedWeights[],
  vrMode: VrMode,
  owned: { dispose(): void }[],
): RunNetworks {
  const vrs = subtasks(config.data.task).map((task, k) => {
    // The first VR keeps its historical seed stream, so single-task runs are unchanged.
    const vr = makeVr(config, rng.fork(k ? `vr-init:${task}` : "vr-init").seed(), task);
    owned.push(vr.module);
    if (vrMode !== "trained" || config.train.vrInit === "pretrained") {
      decodeWeightsInto(vr.module, pretrained[k].weights, pretrained[k].weightsPath);
    }
    return vr;
  });
  const ip = srResNet(config.ip, rng.fork("ip-init").seed());
  owned.push(ip.module);
  const ipOptimizer = makeOptimizer(config.train.optimizer, config.train.lr);
  const vrOptimizers = vrs.map(() => makeOptimizer(config.train.optimizer, config.train.vrLr));
  owned.push(ipOptimizer, ...vrOptimizers);
  return { ip, vrs, ipOptimizer, vrOptimizers };
}

/** A run's networks as a training step takes them: the first VR, then the others as `extra`. */
export function stepNetworks(
  nets: RunNetworks,
): Pick<TrainStepSetup, "ip" | "vr" | "ipOptimizer" | "vrOptimizer" | "extra"> {
  return {
    ip: nets.ip,
    vr: nets.vrs[0],
    ipOptimizer: nets.ipOptimizer,
    vrOptimizer: nets.vrOptimizers[0],
    extra: nets.vrs.slice(1).map((vr, k) => ({ vr, vrOptimizer: nets.vrOptimizers[k + 1] })),
  };
}
