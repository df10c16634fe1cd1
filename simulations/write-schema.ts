/** Regenerates simulations/scenario.schema.json from the zod schema: npx tsx simulations/write-schema.ts */
import fs from "node:fs";
import { scenarioJsonSchema } from "./scenario.ts";

fs.writeFileSync(new URL("./scenario.schema.json", import.meta.url), JSON.stringify(scenarioJsonSchema(), null, 2) + "\n");
