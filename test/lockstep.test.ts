import { afterEach, describe, expect, it } from "vitest";
import { Lockstep } from "../simulations/lockstep.ts";
import { useTimeSource, useWallClock } from "../store/clock.ts";

let virtualUs = 1_000_000_000_000;
const advance = (ms: number) => (virtualUs += ms * 1000);

afterEach(() => useWallClock());

/** An agent run as the simulation drives one: it computes, sleeps on the virtual clock, computes again. */
function agentRun(pace: Lockstep, log: string[], sleeps: number[]): Promise<void> {
  pace.started();
  return (async () => {
    for (const [k, ms] of sleeps.entries()) {
      log.push(`compute ${k}`);
      await pace.sleep(ms);
    }
    log.push("end");
  })().finally(() => pace.done());
}

describe("Lockstep: traffic and the agent take turns", () => {
  it("a sleep wakes only at a turn at or after its virtual deadline, and the turn waits until the agent sleeps again", async () => {
    useTimeSource(() => virtualUs);
    const pace = new Lockstep();
    const log: string[] = [];
    const run = agentRun(pace, log, [1000, 1000]);
    await pace.turn();
    expect(log).toEqual(["compute 0"]);
    advance(600);
    await pace.turn();
    expect(log).toEqual(["compute 0"]); // not due yet: no wake between batches of traffic
    advance(600);
    await pace.turn();
    expect(log).toEqual(["compute 0", "compute 1"]);
    advance(1001); // the clock is strictly increasing: the sleep began a microsecond after the turn read it
    await pace.turn();
    expect(log).toEqual(["compute 0", "compute 1", "end"]);
    await run;
  });

  it("stop wakes every sleeper, and later sleeps return at once", async () => {
    useTimeSource(() => virtualUs);
    const pace = new Lockstep();
    const log: string[] = [];
    const run = agentRun(pace, log, [5000, 5000, 5000]);
    await pace.turn();
    pace.stop();
    await run;
    expect(log).toEqual(["compute 0", "compute 1", "compute 2", "end"]);
  });
});
