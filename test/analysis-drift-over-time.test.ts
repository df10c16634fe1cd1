import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDataDrift, driftOverTime } from "../analysis/index.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// Per-bucket drift on a real embedded store: the seeded scenario has an undrifted hour and, two
// hours later, an hour whose incomes moved by 2 reference std.

let t: TempStore;
let sc: DriftScenario;
const HALF_HOUR_S = 1800;

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

describe("driftOverTime", () => {
  const span = () => ({ fromUs: sc.windows.baseline.fromUs, toUs: sc.windows.drifted.toUs });

  it("is detect_data_drift's PSI, bucket by bucket, for every feature", async () => {
    const r = await driftOverTime(t.store, { model: sc.model, window: span(), bucketSeconds: HALF_HOUR_S });
    expect(r.version).toBe(sc.v1.version);
    expect(r.features.map((f) => f.feature)).toEqual(sc.v1.schema.features.map((f) => f.name));
    const width = HALF_HOUR_S * 1e6;
    const filled = r.buckets.flatMap((b, i) => (b.rows >= r.minRows ? [i] : []));
    expect(filled.length).toBeGreaterThanOrEqual(3);
    for (const i of filled) {
      const b = r.buckets[i]!;
      const w = { fromUs: Math.max(b.startUs, r.window.fromUs), toUs: Math.min(b.startUs + width, r.window.toUs) };
      const whole = await detectDataDrift(t.store, { model: sc.model, version: sc.v1.version, window: w });
      expect(whole.rows).toBe(b.rows);
      for (const f of r.features) {
        const expected = whole.features.find((x) => x.feature === f.feature)!;
        expect(f.psi[i]).toBeCloseTo(expected.psi, 10);
        expect(f.level[i]).toBe(expected.psiLevel);
      }
    }
  });

  it("shows income moving in the drifted hour only, and gives no figure where a bucket has too few rows", async () => {
    const r = await driftOverTime(t.store, { model: sc.model, window: span(), bucketSeconds: HALF_HOUR_S });
    const income = r.features.find((f) => f.feature === sc.driftedFeature)!;
    const inside = (w: { fromUs: number; toUs: number }) => r.buckets.flatMap((b, i) => (b.startUs >= w.fromUs && b.startUs + HALF_HOUR_S * 1e6 <= w.toUs ? [i] : []));
    const before = inside(sc.windows.baseline);
    const after = inside(sc.windows.drifted);
    // A one-hour window holds at least one whole half-hour bucket.
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    for (const i of before) expect(income.level[i]).toBe("none");
    for (const i of after) expect(income.level[i]).toBe("major");
    r.buckets.forEach((b, i) => expect(income.psi[i] === null).toBe(b.rows < r.minRows));
    // The hour between the two windows has no rows at all.
    expect(r.buckets.some((b) => b.rows === 0)).toBe(true);
  });
});
