import { describe, expect, it } from "vitest";
import { canaryGate, collectGate, labelsNeeded, shadowGate, verifyGate } from "../rollout/gates.ts";
import { defaultPlanSpec } from "../rollout/new-plan.ts";
import { planSpecSchema } from "../rollout/plan.ts";
import { mcnemar } from "../stats/mcnemar.ts";

const shadow = defaultPlanSpec(0, 1000).stages.find((s) => s.name === "shadow")!.gate as { percent: number; minLabelledPairs: number; looks: number; minGainPts: number; alpha: number };
const canary = { percent: 10, minRows: 50, maxErrorRateIncrease: 0.01, maxP99Ratio: 2, p99SlackMs: 20, maxAccuracyDropPts: 5 };
const pairs = (n: number, onlyCandidate: number, onlyPrimary: number, both: number) => ({ labelledPairs: n, onlyCandidate, onlyPrimary, candidateCorrect: both + onlyCandidate, primaryCorrect: both + onlyPrimary });

describe("collect", () => {
  it("waits with progress, then passes at the bar", () => {
    expect(collectGate({ minLabelledRows: 900 }, 412)).toMatchObject({ verdict: "wait", reason: "412 of 900 labels" });
    expect(collectGate({ minLabelledRows: 900 }, 900).verdict).toBe("pass");
  });

  it("asks for enough labels to see half the loss, within its floor and ceiling", () => {
    // Half of a 10-point loss at 85%: (1.96 + 0.84)² · 2 · 0.85 · 0.15 / 0.05² ≈ 800 → the floor.
    expect(labelsNeeded(0.95, 0.85)).toBe(1000);
    // Half of a 4-point loss at 91%: 7.849 · 2 · 0.91 · 0.09 / 0.02² ≈ 3214.1.
    expect(labelsNeeded(0.95, 0.91)).toBe(3215);
    expect(labelsNeeded(0.95, 0.945)).toBe(5000);
    expect(labelsNeeded(null, 0.8)).toBe(1000);
    expect(labelsNeeded(0.9, 0.95)).toBe(1000);
  });
});

describe("shadow", () => {
  it("does not look before the first look's pairs", () => {
    const r = shadowGate(shadow, pairs(249, 40, 2, 180), 0);
    expect(r).toMatchObject({ verdict: "wait", look: false, figures: { next_look_at: 250 } });
  });

  it("passes a clear win at the per-look level alpha/looks", () => {
    const r = shadowGate(shadow, pairs(300, 40, 10, 230), 0);
    expect(mcnemar(40, 10).pValue).toBeLessThan(0.0125);
    expect(r).toMatchObject({ verdict: "pass", look: true, figures: { gain_pts: 10, level: 0.0125 } });
  });

  it("a win significant at 0.05 but not at 0.0125 waits for the next look, and fails at the last", () => {
    const p = mcnemar(30, 15).pValue;
    expect(p).toBeGreaterThan(0.0125);
    expect(p).toBeLessThan(0.05);
    expect(shadowGate(shadow, pairs(260, 30, 15, 200), 0)).toMatchObject({ verdict: "wait", look: true });
    expect(shadowGate(shadow, pairs(1000, 30, 15, 900), 3)).toMatchObject({ verdict: "fail", reason: expect.stringMatching(/not 1 points better at the last look/) });
  });

  it("a significant win smaller than the minimum gain is not a pass; a significant loss fails at once", () => {
    expect(shadowGate(shadow, pairs(5000, 60, 20, 4000), 0).verdict).toBe("wait"); // +0.8 pts
    expect(shadowGate(shadow, pairs(300, 5, 40, 230), 0)).toMatchObject({ verdict: "fail", reason: expect.stringMatching(/the candidate is worse/) });
  });
});

describe("canary", () => {
  const primary = { rows: 900, errorRate: 0.001, p99Ms: 4, labelled: 600, accuracy: 0.85 };
  it("waits for its rows, passes within the margins, and names each breach", () => {
    expect(canaryGate(canary, { rows: 30, errorRate: 0, p99Ms: 3, labelled: 0, accuracy: null }, primary)).toMatchObject({ verdict: "wait", reason: "30 of 50 canary rows" });
    expect(canaryGate(canary, { rows: 60, errorRate: 0.01, p99Ms: 23, labelled: 10, accuracy: 0.5 }, primary).verdict).toBe("pass");
    const bad = canaryGate(canary, { rows: 60, errorRate: 0.05, p99Ms: 30, labelled: 60, accuracy: 0.7 }, primary);
    expect(bad.verdict).toBe("fail");
    expect(bad.reason).toMatch(/error rate 5\.0% vs 0\.1%.*p99 30\.0 ms over 24\.0 ms.*accuracy 70\.0% vs 85\.0%/);
  });
});

describe("verify", () => {
  const gate = { minLabelledRows: 200, maxAccuracyDropPts: 3, maxErrorRate: 0.02 };
  it("judges the promoted version against its own shadow accuracy", () => {
    expect(verifyGate(gate, { rows: 300, errorRate: 0, p99Ms: 3, labelled: 150, accuracy: 0.95 }, 0.93).verdict).toBe("wait");
    expect(verifyGate(gate, { rows: 300, errorRate: 0, p99Ms: 3, labelled: 250, accuracy: 0.905 }, 0.93)).toMatchObject({ verdict: "pass", figures: { target: 0.9 } });
    expect(verifyGate(gate, { rows: 300, errorRate: 0.03, p99Ms: 3, labelled: 250, accuracy: 0.95 }, 0.93).reason).toMatch(/error rate 3\.0%.*: error rate over 2\.0%/);
    expect(verifyGate(gate, { rows: 300, errorRate: 0, p99Ms: 3, labelled: 250, accuracy: 0.85 }, 0.93).reason).toMatch(/: accuracy below 90\.0%$/);
  });

  it("with the base version shadowing: below target but better than the base passes (the population moved on); worse than the base fails", () => {
    const after = { rows: 300, errorRate: 0, p99Ms: 3, labelled: 250, accuracy: 0.8 };
    const moved = verifyGate(gate, after, 0.9, pairs(250, 30, 5, 170));
    expect(moved).toMatchObject({ verdict: "pass", figures: { gain_over_base_pts: 10, base_pairs: 250 } });
    expect(moved.reason).toMatch(/below target, but better than the base version on the same requests/);
    expect(verifyGate(gate, after, 0.9, pairs(250, 5, 30, 170))).toMatchObject({ verdict: "fail", reason: expect.stringMatching(/worse than the base version/) });
    expect(verifyGate(gate, { ...after, accuracy: 0.95 }, 0.9, pairs(250, 5, 30, 170)).verdict).toBe("fail");
  });
});

describe("plan schema", () => {
  it("accepts the default plan and refuses a reordered, incomplete or out-of-range one, naming why", () => {
    const plan = defaultPlanSpec(1, 1000);
    expect(planSpecSchema.safeParse(plan).success).toBe(true);
    const problems = (p: unknown) => {
      const r = planSpecSchema.safeParse(p);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(problems({ ...plan, stages: [...plan.stages].reverse() }).join("\n")).toMatch(/stages must follow the order collect → train → shadow/);
    expect(problems({ ...plan, stages: plan.stages.filter((s) => s.name !== "shadow") }).join("\n")).toMatch(/exactly one shadow stage/);
    expect(problems({ ...plan, stages: plan.stages.map((s) => (s.name === "canary" ? { ...s, gate: { ...s.gate, percent: 10 } } : s)) }).join("\n")).toMatch(/raise the share/);
    expect(problems({ ...plan, stages: plan.stages.map((s) => (s.name === "shadow" ? { ...s, gate: { ...s.gate, alpha: 2 } } : s)) }).join("\n")).toMatch(/stages\.2\.gate\.alpha/);
    expect(problems({ ...plan, stages: [...plan.stages, { name: "deploy", gate: {} }] }).join("\n")).toMatch(/stages\.7\.name/);
  });
});
