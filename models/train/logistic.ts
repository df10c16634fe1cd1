import { fitNetwork } from "./fit.ts";
import type { Hyperparameters, TrainingData } from "./fit.ts";
import type { TrainedModel } from "./network.ts";

export type LogisticOptions = Partial<Omit<Hyperparameters, "hidden">>;

/** The convex case converges fast; a few epochs of large steps are enough. */
export const logisticDefaults: Omit<Hyperparameters, "hidden"> = {
  epochs: 15,
  batchSize: 128,
  learningRate: 0.02,
  l2: 1e-4,
  seed: 0,
};

/** Multinomial logistic regression: one softmax layer over the standardized encoded features. */
export function trainLogistic(data: TrainingData, options: LogisticOptions = {}): TrainedModel {
  return fitNetwork("logistic", data, { ...logisticDefaults, ...options, hidden: [] });
}
