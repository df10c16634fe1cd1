import { fitNetwork } from "./fit.ts";
import type { Hyperparameters, TrainingData } from "./fit.ts";
import type { TrainedModel } from "./network.ts";

export interface MlpOptions extends Partial<Omit<Hyperparameters, "hidden">> {
  hiddenUnits?: number;
}

/** Smaller steps than logistic regression: the ReLU layer makes the loss non-convex. */
export const mlpDefaults: Omit<Hyperparameters, "hidden"> & { hiddenUnits: number } = {
  hiddenUnits: 32,
  epochs: 25,
  batchSize: 128,
  learningRate: 0.005,
  l2: 1e-4,
  seed: 0,
};

/** One hidden ReLU layer, softmax output. */
export function trainMlp(data: TrainingData, options: MlpOptions = {}): TrainedModel {
  const { hiddenUnits, ...hp } = { ...mlpDefaults, ...options };
  return fitNetwork("mlp", data, { ...hp, hidden: [hiddenUnits] });
}
