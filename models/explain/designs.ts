import { walkStepMask, type PermutationWalk } from "../../stats/shapley.ts";
import type { Row } from "../schema.ts";

/**
 * The rows each Shapley estimator needs scored, in the layout its estimator in stats/shapley.ts
 * reads: the explained row's values on some features, a background row's on the rest. Mixing whole
 * rows (not encoded slots) lets one design serve native and imported graphs alike.
 */

function mixed(x: Row, background: Row, names: readonly string[], fromX: (i: number) => boolean): Row {
  const row: Row = {};
  names.forEach((name, i) => (row[name] = fromX(i) ? (x[name] ?? null) : (background[name] ?? null)));
  return row;
}

/** additiveShapley: the background rows, then for each feature the background rows with that feature from x. */
export function additiveDesign(x: Row, background: readonly Row[], names: readonly string[]): Row[] {
  const rows = [...background];
  names.forEach((_, i) => {
    for (const b of background) rows.push(mixed(x, b, names, (j) => j === i));
  });
  return rows;
}

/** enumeratedShapley: for every coalition bitmask, every background row. */
export function enumeratedDesign(x: Row, background: readonly Row[], names: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (let mask = 0; mask < 2 ** names.length; mask++) {
    for (const b of background) rows.push(mixed(x, b, names, (i) => (mask & (1 << i)) !== 0));
  }
  return rows;
}

/** permutationShapley: each walk's features + 1 steps from its background row to x. */
export function permutationDesign(x: Row, background: readonly Row[], names: readonly string[], walks: readonly PermutationWalk[]): Row[] {
  const rows: Row[] = [];
  for (const walk of walks) {
    for (let step = 0; step <= names.length; step++) {
      const mask = walkStepMask(walk, step, names.length);
      rows.push(mixed(x, background[walk.background]!, names, (i) => mask[i]!));
    }
  }
  return rows;
}
