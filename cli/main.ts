import { ConfigError } from "../config.ts";
import { CsvError } from "../models/datasets/csv.ts";
import { RegistryError } from "../models/registry.ts";
import { ScenarioError } from "../simulations/scenario.ts";
import { StoreError } from "../store/client.ts";
import fs from "node:fs";
import { CommandError, nearest, UsageError, wantsHelp, type Command } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { approveCommand } from "./commands/approve.ts";
import { rolloutCommand } from "./commands/rollout.ts";
import { trafficCommands } from "./commands/traffic.ts";
import { chatCommand } from "./commands/chat.ts";
import { demoCommand } from "./commands/demo.ts";
import { mcpCommand } from "./commands/mcp.ts";
import { scoreCommand } from "./commands/score.ts";
import { serveCommand } from "./commands/serve.ts";
import { simulateCommand } from "./commands/simulate.ts";
import { modelsCommand } from "./commands/models.ts";
import { storeCommand } from "./commands/store.ts";
import { trainCommand } from "./commands/train.ts";

const commands: Command[] = [
  trainCommand,
  modelsCommand,
  storeCommand,
  serveCommand,
  mcpCommand,
  agentCommand,
  chatCommand,
  approveCommand,
  rolloutCommand,
  ...trafficCommands,
  scoreCommand,
  simulateCommand,
  demoCommand,
];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "mlwatch — watch ML models in production and fix them with a human in the loop",
    "",
    "usage: mlwatch <command> [options]   (mlwatch <command> --help for its options)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

/** Errors a user can act on are one line and a non-zero exit; anything else is a bug and keeps its stack. */
const expectedErrors = [UsageError, CommandError, ConfigError, StoreError, RegistryError, CsvError, ScenarioError];
/** How the command was called or configured is wrong (2); the command failed doing its work (1). */
const exitCode = (err: Error) => (err instanceof UsageError || err instanceof ConfigError ? 2 : 1);

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    console.log(`mlwatch ${version()}`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const flag = name.startsWith("-");
    const near = nearest(name, flag ? ["--help", "--version"] : commands.map((c) => c.name));
    console.error(`mlwatch: unknown ${flag ? "option" : "command"} '${name}'${near ? ` (did you mean ${near}?)` : ""}; mlwatch --help lists the commands`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    if (expectedErrors.some((E) => err instanceof E)) {
      console.error(`mlwatch ${name}: ${(err as Error).message}`);
      return exitCode(err as Error);
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
