// A worker thread does not inherit the TypeScript loader its parent registered: register it here,
// then run the worker's TypeScript body.
import { register } from "tsx/esm/api";

register();
await import("./train-worker.ts");
