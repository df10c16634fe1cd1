import type { McpServer } from "@modelcontextprotocol/server";
import type { ToolDeps } from "../deps.ts";
import { registerInvestigateModelPrompt } from "./investigate-model.ts";

export function registerPrompts(server: McpServer, deps: ToolDeps): void {
  registerInvestigateModelPrompt(server, deps);
}
