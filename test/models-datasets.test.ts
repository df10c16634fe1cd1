import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { creditRisk, generateCredit } from "../models/datasets/credit.ts";
import { loadCsv } from "../models/datasets/csv.ts";
import { generateHyperplane, hyperplaneWeights } from "../models/datasets/hyperplane.ts";
import { makeDataset } from "../models/datasets/index.ts";
import { Rng } from "../models/rng.ts";

describe("Rng", () => {
  it("repeats its stream for a seed and differs across seeds", () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return [r.next(), r.normal(), r.int(1000), r.choice([1, 2, 3]), r.poisson(3)];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it("draws with the requested distributions", () => {
    const r = new Rng(1);
    const n = 20_000;
    let sum = 0;
    let squares = 0;
    const picks = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const z = r.normal(5, 2);
      sum += z;
      squares += (z - 5) ** 2;
      picks[r.choice([1, 0, 3])]!++;
    }
    expect(sum / n).toBeCloseTo(5, 1);
    expect(Math.sqrt(squares / n)).toBeCloseTo(2, 1);
    expect(picks[1]).toBe(0);
    expect(picks[2]! / n).toBeCloseTo(0.75, 1);
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("generateCredit", () => {
  it("is deterministic in its seed", () => {
    expect(generateCredit(300, 7)).toEqual(generateCredit(300, 7));
    expect(generateCredit(300, 7).examples).not.toEqual(generateCredit(300, 8).examples);
  });

  it("draws plausible applicants", () => {
    const rows = generateCredit(5000, 1).examples.map((e) => e.row);
    for (const row of rows) {
      expect(row.age).toBeGreaterThanOrEqual(18);
      expect(row.age).toBeLessThanOrEqual(80);
      if (row.income !== null) expect(row.income).toBeGreaterThan(0);
    }
    const missingIncome = rows.filter((r) => r.income === null).length / rows.length;
    expect(missingIncome).toBeGreaterThan(0);
    expect(missingIncome).toBeLessThan(0.03);
  });

  it("changes only the labels under a concept shift", () => {
    const base = generateCredit(3000, 5);
    const shifted = generateCredit(3000, 5, { conceptShift: 1 });
    expect(shifted.examples.map((e) => e.row)).toEqual(base.examples.map((e) => e.row));
    const changed = base.examples.filter((e, i) => e.label !== shifted.examples[i]!.label).length;
    expect(changed / base.examples.length).toBeGreaterThan(0.05);
    expect(creditRisk(0.5)(base.examples[0]!.row)).not.toBe(creditRisk(0)(base.examples[0]!.row));
  });

  it("takes a labelling function override without changing the applicants", () => {
    const d = generateCredit(50, 1, { labelFn: (row) => (row.region === "east" ? 1 : 0) });
    for (const e of d.examples) expect(e.label).toBe(e.row.region === "east" ? 1 : 0);
    expect(d.examples.map((e) => e.row)).toEqual(generateCredit(50, 1).examples.map((e) => e.row));
  });
});

describe("generateHyperplane", () => {
  it("is deterministic in its seed", () => {
    expect(generateHyperplane(200, 3, { dims: 4 })).toEqual(generateHyperplane(200, 3, { dims: 4 }));
    expect(generateHyperplane(200, 3).examples).not.toEqual(generateHyperplane(200, 4).examples);
  });

  it("labels by the rotated hyperplane with a little noise", () => {
    const d = generateHyperplane(5000, 2, { dims: 5, rotation: 0.3, noise: 0.05 });
    expect(d.schema.features.map((f) => f.name)).toEqual(["x0", "x1", "x2", "x3", "x4"]);
    const w = hyperplaneWeights(5, 0.3);
    const agree = d.examples.filter((e) => {
      const s = w.reduce((acc, wi, i) => acc + wi * (e.row[`x${i}`] as number), 0);
      return (s > 0 ? 1 : 0) === e.label;
    }).length;
    expect(agree / 5000).toBeGreaterThan(0.93);
    expect(agree / 5000).toBeLessThan(0.97);
  });

  it("rotates the weights a right angle at rotation 1", () => {
    const w0 = hyperplaneWeights(10, 0);
    const w1 = hyperplaneWeights(10, 1);
    const dot = w0.reduce((acc, v, i) => acc + v * w1[i]!, 0);
    expect(Math.abs(dot)).toBeLessThan(1e-12);
    expect(Math.hypot(...w1)).toBeCloseTo(1, 12);
  });
});

describe("loadCsv", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-csv-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("parses quotes, CRLF, missing cells and detects column types", () => {
    const file = write(
      "ok.csv",
      '\uFEFFsize,city,note,outcome\r\n' +
        '1.5,"Paris, FR","said ""hi""",yes\r\n' +
        ',Berlin,"two\r\nlines",no\r\n' +
        '-2e3,,plain,yes\r\n' +
        '\r\n' +
        '7,Oslo,x,maybe\r\n',
    );
    const d = loadCsv(file, "outcome");
    expect(d.schema).toEqual({
      features: [
        { name: "size", type: "numeric" },
        { name: "city", type: "categorical", categories: ["Berlin", "Oslo", "Paris, FR"] },
        { name: "note", type: "categorical", categories: ["plain", 'said "hi"', "two\r\nlines", "x"] },
      ],
      classes: ["maybe", "no", "yes"],
      label: "outcome",
    });
    expect(d.examples).toEqual([
      { row: { size: 1.5, city: "Paris, FR", note: 'said "hi"' }, label: 2 },
      { row: { size: null, city: "Berlin", note: "two\r\nlines" }, label: 1 },
      { row: { size: -2000, city: null, note: "plain" }, label: 2 },
      { row: { size: 7, city: "Oslo", note: "x" }, label: 0 },
    ]);
  });

  it("treats a column with any non-number as categorical and sorts numeric classes numerically", () => {
    const d = loadCsv(write("mixed.csv", "code,y\n1,10\n2,9\nx,10\n"), "y");
    expect(d.schema.features).toEqual([{ name: "code", type: "categorical", categories: ["1", "2", "x"] }]);
    expect(d.schema.classes).toEqual(["9", "10"]);
  });

  it("names the file and the column when the label column is missing", () => {
    const file = write("nolabel.csv", "a,b\n1,2\n");
    expect(() => loadCsv(file, "target")).toThrow(`${file}: no label column 'target' (columns: a, b)`);
  });

  it("reports ragged rows, empty files, single classes and open quotes with their location", () => {
    const ragged = write("ragged.csv", "a,y\n1,p\n2,q,3\n");
    expect(() => loadCsv(ragged, "y")).toThrow(`${ragged} line 3: 3 fields, expected 2`);
    const empty = write("empty.csv", "");
    expect(() => loadCsv(empty, "y")).toThrow(`${empty}: the file is empty`);
    const single = write("single.csv", "a,y\n1,p\n2,p\n");
    expect(() => loadCsv(single, "y")).toThrow(/single\.csv: label column 'y' has 1 distinct value/);
    const open = write("open.csv", 'a,y\n1,p\n"2,q\n');
    expect(() => loadCsv(open, "y")).toThrow(`${open} line 3: quoted field never closed`);
    const noLabel = write("nolabelvalue.csv", "a,y\n1,p\n2,\n");
    expect(() => loadCsv(noLabel, "y")).toThrow(`${noLabel} line 3: empty label in column 'y'`);
  });

  it("is resampled with replacement by makeDataset when n is given", () => {
    const file = write("small.csv", "a,y\n1,p\n2,q\n3,p\n");
    const a = makeDataset({ csv: file, label: "y" }, 50, 9);
    expect(a.examples).toHaveLength(50);
    expect(a).toEqual(makeDataset({ csv: file, label: "y" }, 50, 9));
    expect(new Set(a.examples.map((e) => e.row.a))).toEqual(new Set([1, 2, 3]));
    expect(makeDataset({ csv: file, label: "y" }, undefined, 9).examples).toHaveLength(3);
  });
});

describe("makeDataset", () => {
  it("passes generator options through", () => {
    const d = makeDataset({ generator: "hyperplane", dims: 3 }, 10, 1);
    expect(d.schema.features).toHaveLength(3);
    expect(d.examples).toHaveLength(10);
    expect(makeDataset({ generator: "credit" }, 10, 1)).toEqual(generateCredit(10, 1));
  });
});
