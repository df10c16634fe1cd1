import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { agentConfig } from "../../agent/configuration.ts";
import { buildGraph } from "../../agent/graph.ts";
import { deterministicReasoner } from "../../agent/reasoners/deterministic.ts";
import { AgentRunner, type Launched } from "../../agent/runner.ts";
import type { Trigger } from "../../agent/state.ts";
import { lazyMcpTools } from "../../agent/tools.ts";
import { registerAlertWebhook } from "../../agent/webhook.ts";
import type { InferenceService } from "../../inference/service.ts";
import { registerMcpHttp } from "../../mcp-server/transports/http.ts";
import { eventually } from "../helpers/eventually.ts";
import { registerTrained } from "../helpers/models.ts";
import { startService } from "../helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";
import { debianTool } from "./debian-tool.ts";
import { freePort, startProcess, type LocalProcess } from "./local-process.ts";

// Alerts into the agent through a real Alertmanager (Debian's binary) running
// deploy/alertmanager/alertmanager.yml, with three substitutions a loopback test needs: the webhook
// URL (the service's ephemeral port instead of inference:8080), the token file (a temporary file
// instead of the compose secret) and group_wait 0s instead of 30s. The alert is posted to
// Alertmanager's API as Prometheus posts it, with the labels and annotations the promtool test
// expects of ModelAccuracyBelowSLO. Alertmanager builds the webhook payload itself; the service's
// real webhook (the one `mlwatch serve` hosts) starts a real agent run over the real MCP endpoint.
// test/agent-graph.test.ts covers the webhook's answers to malformed payloads.

const ROOT = path.resolve(import.meta.dirname, "../..");
const CONFIG = path.join(ROOT, "deploy/alertmanager/alertmanager.yml");
const ALERT_TOKEN = "alert-token-0123456789abcdef";
const AGENT_TOKEN = "agent-token-0123456789abcdef";

let t: TempStore;
let svc: InferenceService;
let alertmanager: LocalProcess;
let alertmanagerUrl: string;
let workDir: string;
let amtool: string;
/** Runs the webhook started, as the real runner reported them. */
const launched: { model: string; trigger: Trigger; run: Launched }[] = [];

interface ExpectedAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}

/** The alert exactly as deploy/prometheus/tests expects the rule to produce it. */
function ruleAlert(alertname: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  const tests = parse(fs.readFileSync(path.join(ROOT, "deploy/prometheus/tests/model-alerts.yml"), "utf8")) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: ExpectedAlert[] }[] }[] };
  const expected = tests.tests.flatMap((x) => x.alert_rule_test ?? []).find((c) => c.alertname === alertname && c.exp_alerts?.length)!.exp_alerts![0]!;
  return { labels: { alertname, ...expected.exp_labels }, annotations: expected.exp_annotations };
}

function renderConfig(webhookUrl: string, tokenFile: string): string {
  const config = parse(fs.readFileSync(CONFIG, "utf8")) as {
    route: { group_wait: string };
    receivers: { name: string; webhook_configs?: { url: string; http_config: { authorization: { credentials_file: string } } }[] }[];
  };
  config.route.group_wait = "0s";
  const hook = config.receivers.find((r) => r.name === "mlwatch-agent")!.webhook_configs![0]!;
  hook.url = webhookUrl;
  hook.http_config.authorization.credentials_file = tokenFile;
  return stringify(config);
}

beforeAll(async () => {
  const binary = debianTool("prometheus-alertmanager", "prometheus-alertmanager");
  amtool = debianTool("amtool", "prometheus-alertmanager");
  t = await tempStore(LOOPBACK);
  await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 2000 });
  let runner: AgentRunner | undefined;
  svc = await startService(t, async (app) => {
    await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, mcpToken: AGENT_TOKEN, approverToken: undefined, allowedOrigins: [] });
    registerAlertWebhook(app, {
      token: ALERT_TOKEN,
      runner: {
        launch: async (model, trigger) => {
          const run = await runner!.launch(model, trigger);
          launched.push({ model, trigger: trigger!, run });
          return run;
        },
      },
    });
  });
  // As `mlwatch serve` does: the agent reaches this very process's MCP endpoint, once it listens.
  const checkpointer = new MemorySaver();
  const graph = buildGraph({ tools: lazyMcpTools({ url: `${svc.url}/mcp`, token: AGENT_TOKEN }), reasoner: deterministicReasoner, config: agentConfig(), checkpointer, print: () => {} });
  runner = new AgentRunner(graph, checkpointer);

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-alertmanager-"));
  const tokenFile = path.join(workDir, "mlwatch_alert_token");
  fs.writeFileSync(tokenFile, ALERT_TOKEN);
  fs.writeFileSync(path.join(workDir, "alertmanager.yml"), renderConfig(`${svc.url}/v1/alerts`, tokenFile));
  const port = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${port}`;
  alertmanager = startProcess(binary, [
    `--config.file=${path.join(workDir, "alertmanager.yml")}`,
    `--storage.path=${path.join(workDir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--cluster.listen-address=",
  ]);
  await eventually(async () => expect((await fetch(`${alertmanagerUrl}/-/ready`)).status).toBe(200), 20_000, 100);
}, 120_000);

afterAll(async () => {
  await alertmanager?.stop();
  await svc?.close();
  await t?.cleanup();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe("Alertmanager → the agent's webhook", () => {
  it("the committed configuration is valid and routes model alerts to the agent, the log writer's to the team", () => {
    const check = spawnSync(amtool, ["check-config", CONFIG], { encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const receiver = (labels: string[]) => spawnSync(amtool, ["config", "routes", "test", `--config.file=${CONFIG}`, ...labels], { encoding: "utf8" }).stdout.trim();
    for (const alert of ["ModelAccuracyBelowSLO", "ModelErrorRateHigh", "ModelLatencyP99High", "ModelNoPredictions", "ModelLabelCoverageLow"]) {
      expect(receiver([`alertname=${alert}`, "model=credit", "severity=critical"]), alert).toBe("mlwatch-agent");
    }
    for (const alert of ["MlwatchLogSpooling", "MlwatchLogDroppingRows", "MlwatchLogRefusingRows"]) {
      expect(receiver([`alertname=${alert}`, "instance=inference:8080", "table=predictions"]), alert).toBe("team");
    }
  });

  it("a firing ModelAccuracyBelowSLO alert reaches the webhook and starts an investigation of its model", async () => {
    const alert = ruleAlert("ModelAccuracyBelowSLO");
    const spooling = { labels: { alertname: "MlwatchLogSpooling", instance: "inference:8080", table: "predictions", severity: "warning" }, annotations: { summary: "spooling" } };
    const startsAt = new Date().toISOString();
    const res = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([alert, spooling].map((a) => ({ ...a, startsAt, generatorURL: "http://prometheus:9090/graph" }))),
    });
    expect(res.status, alertmanager.output()).toBe(200);

    const first = await eventually(() => {
      expect(launched.length, alertmanager.output().slice(-2000)).toBeGreaterThan(0);
      return launched[0]!;
    }, 30_000, 100);
    expect(first.model).toBe("credit");
    expect(first.trigger).toMatchObject({ kind: "alert", alert: { alertname: "ModelAccuracyBelowSLO", status: "firing", labels: alert.labels, annotations: alert.annotations } });
    expect(first.run.deduplicated).toBe(false);
    const outcome = await first.run.done;
    expect(outcome.model).toBe("credit");
    expect(launched.map((l) => l.model)).toEqual(["credit"]);
  }, 60_000);
});
