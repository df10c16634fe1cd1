import { describe, expect, it } from "vitest";
import { creditSchema } from "../models/datasets/credit.ts";
import { encodedWidth, encodeRows, numericSlots, unknownCategories } from "../models/encode.ts";
import type { ModelSchema, Row } from "../models/schema.ts";

const schema: ModelSchema = {
  features: [
    { name: "a", type: "numeric" },
    { name: "colour", type: "categorical", categories: ["red", "green"] },
    { name: "b", type: "numeric" },
  ],
  classes: ["n", "y"],
  label: "t",
};

describe("encodeRows", () => {
  it("lays out raw numbers and one-hot blocks with a trailing unknown slot", () => {
    expect(encodedWidth(schema)).toBe(5);
    expect(numericSlots(schema)).toEqual([0, 4]);
    expect(encodedWidth(creditSchema)).toBe(5 + 5 + 5 + 6);
    const x = encodeRows(
      [
        { a: 1.5, colour: "green", b: -2 },
        { a: 0, colour: "red", b: 1e6 },
        { a: 3, colour: "purple", b: 4 },
        { a: 3, colour: null, b: 4 },
      ],
      schema,
    );
    expect(Array.from(x)).toEqual([
      1.5, 0, 1, 0, -2,
      0, 1, 0, 0, 1e6,
      3, 0, 0, 1, 4,
      3, 0, 0, 1, 4,
    ]);
  });

  it("imputes missing numbers with the fill values, or 0 without them", () => {
    const rows: Row[] = [{ a: null, colour: "red", b: Number.NaN }, { colour: "red", b: "7" }];
    expect(Array.from(encodeRows(rows, schema, [10, 20]))).toEqual([10, 1, 0, 0, 20, 10, 1, 0, 0, 20]);
    expect(Array.from(encodeRows(rows, schema))).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it("matches a category sent as a number by its text", () => {
    const numbered: ModelSchema = { ...schema, features: [{ name: "grade", type: "categorical", categories: ["1", "2"] }] };
    expect(Array.from(encodeRows([{ grade: 2 }], numbered))).toEqual([0, 1, 0]);
  });
});

describe("unknownCategories", () => {
  it("lists features whose present value was never seen, not missing ones", () => {
    const two: ModelSchema = { ...schema, features: [...schema.features, { name: "size", type: "categorical", categories: ["s"] }] };
    expect(unknownCategories({ a: 1, colour: "purple", b: 2, size: "xl" }, two)).toEqual(["colour", "size"]);
    expect(unknownCategories({ a: 1, colour: null, b: 2, size: "s" }, two)).toEqual([]);
  });
});
