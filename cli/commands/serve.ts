import type { Command } from "../command.ts";
import { wantsHelp } from "../command.ts";
import { loadConfig } from "../../config.ts";
import { openStore } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startInferenceService } from "../../inference/service.ts";

const usage = `usage: mlwatch serve

Serves every deployed model over HTTP (MLWATCH_HOST:MLWATCH_PORT, default 127.0.0.1:8080) and logs
each prediction to the log store. OpenAPI at /docs, Prometheus metrics at /metrics.
In embedded mode this process owns the store; other mlwatch commands reach it over HTTP.`;

export const serveCommand: Command = {
  name: "serve",
  summary: "serve deployed models over HTTP and log every prediction",
  usage,
  async run(argv) {
    if (wantsHelp(argv)) {
      console.log(usage);
      return;
    }
    const config = loadConfig();
    const store = await openStore(config);
    await migrate(store);
    const service = await startInferenceService({ config, store });
    console.log(`mlwatch serving on ${service.url} (docs ${service.url}/docs, metrics ${service.url}/metrics)`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await service.close();
    await store.close();
  },
};
