import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrafficController } from "../inference/traffic.ts";
import type { Store } from "../store/client.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let versions: string[];

beforeAll(async () => {
  t = await tempStore();
  versions = [];
  for (const seed of [1, 2]) versions.push((await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 500, seed })).version);
});
afterAll(() => t.cleanup());

/**
 * The real store, with one read of the deployments log held back after it ran: the shape of a poll
 * that read the state just before a change was recorded and returns just after it.
 */
function storeWithOneSlowRead(store: Store) {
  let armed: (() => void) | undefined;
  const slow: Store = {
    ...store,
    async rows<T>(query: string, params?: Record<string, unknown>) {
      const hold = armed && query.includes(store.table("deployments"));
      const started = hold ? armed : undefined;
      if (hold) armed = undefined;
      const result = await store.rows<T>(query, params);
      if (started) {
        started();
        await sleep(300);
      }
      return result;
    },
  };
  const arm = () => new Promise<void>((resolve) => (armed = resolve));
  return { slow, arm };
}

describe("traffic state refresh", () => {
  it("never lets a poll that overlapped a local change put the older state back", async () => {
    const { slow, arm } = storeWithOneSlowRead(t.store);
    const traffic = new TrafficController(slow);
    const [v1, v2] = versions as [string, string];
    await traffic.change({ model: "credit", change: { action: "deploy", role: "primary", version: v1 }, actor: "test", reason: "start" });
    for (const percent of [20, 40]) {
      const readDone = arm();
      const poll = traffic.refresh();
      await readDone;
      await traffic.change({ model: "credit", change: { action: "deploy", role: "canary", version: v2, percent }, actor: "test", reason: `canary ${percent}%` });
      await poll;
      expect(traffic.state("credit")?.canary).toEqual({ version: v2, percent });
    }
  });
});
