import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The command could not do its work for a reason the user can act on (a server down): one line, exit code 1. */
export class CommandError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Strict parsing (unknown flags and, unless allowed, any positional argument are errors) that turns
 * node's messages into one-line UsageErrors with the nearest known option as a suggestion.
 */
export function parse<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw usageErrorFrom(err, Object.keys(options));
  }
}

function usageErrorFrom(err: unknown, known: string[]): UsageError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const word = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flags = known.map((k) => `--${k}`);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const name = word.split("=")[0]!;
    return new UsageError(`Unknown option '${name}'${hint(name, flags, "options")}`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    // `serve port 9000` most likely meant a flag.
    const near = nearest(`--${word}`, flags);
    return new UsageError(`unexpected argument '${word}'${near ? ` (did you mean ${near}?)` : ""}`);
  }
  return new UsageError(message);
}

/** " (did you mean X?)" for the nearest candidate, else the candidates listed, else that there are none. */
export function hint(word: string, candidates: readonly string[], what: string): string {
  const near = nearest(word, candidates);
  if (near) return ` (did you mean ${near}?)`;
  return candidates.length > 0 ? ` (${what}: ${candidates.join(", ")})` : ` (this command takes no ${what})`;
}

/** The candidate within a couple of edits of `word` (or that it abbreviates), closest first. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const scored = candidates
    .map((c) => ({ c, d: c.startsWith(word) && word.replace(/^-+/, "").length >= 3 ? 0.5 : editDistance(word, c) }))
    .filter(({ c, d }) => d <= Math.min(2, Math.floor(c.replace(/^-+/, "").length / 2)))
    .sort((a, b) => a.d - b.d);
  return scored[0]?.c;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps ("prot" → "port" is one). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * A command's subcommand (or the lack of one): an unknown name is a UsageError suggesting the
 * nearest. Returns undefined when argv is empty.
 */
export function subcommand<S extends string>(argv: string[], names: readonly S[]): S | undefined {
  const [sub] = argv;
  if (sub === undefined) return undefined;
  if ((names as readonly string[]).includes(sub)) return sub as S;
  throw new UsageError(`unknown subcommand '${sub}'${hint(sub, names, "subcommands")}`);
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

export function printTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) {
    console.log("(none)");
    return;
  }
  const keys = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => keys.map((k) => formatCell(r[k])));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  console.log(line(keys));
  for (const c of cells) console.log(line(c));
}

function formatCell(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(4);
  if (Array.isArray(v)) return v.join(",");
  return v === null || v === undefined ? "" : String(v);
}
