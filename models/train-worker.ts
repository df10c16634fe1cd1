import { parentPort, workerData } from "node:worker_threads";
import { trainModel, type TrainRequest } from "./train.ts";

// The body of trainOffThread's worker: train what it was given, hand the results back, exit.
const requests = workerData as TrainRequest[];
parentPort!.postMessage(requests.map((r) => trainModel(r)));
