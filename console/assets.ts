import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Everything the console's pages load, served from this process: no CDN, nothing fetched at run time. */
export interface Asset {
  body: Buffer;
  type: string;
}

/** Read once when the console is mounted; uPlot comes from its npm package. */
export function loadAssets(): Map<string, Asset> {
  const here = path.join(path.dirname(fileURLToPath(import.meta.url)), "assets");
  const require = createRequire(import.meta.url);
  const files: [string, string, string][] = [
    ["console.js", path.join(here, "console.js"), "text/javascript; charset=utf-8"],
    ["console.css", path.join(here, "console.css"), "text/css; charset=utf-8"],
    ["uPlot.iife.min.js", require.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"],
    ["uPlot.min.css", require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"],
  ];
  return new Map(files.map(([name, file, type]) => [name, { body: fs.readFileSync(file), type }]));
}
