import fs from "node:fs";
import path from "node:path";

/** Writes bench/results/<name>.json whole (through a temporary file, so a reader never sees half of it) and says where. */
export function writeResult(name: string, result: unknown): void {
  const out = path.join(import.meta.dirname, "results", `${name}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2) + "\n");
  fs.renameSync(`${out}.tmp`, out);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
