import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Command } from "../../cli/command.ts";

// docker-compose.yml checked without a Docker engine: it parses (merge keys resolved as Compose
// resolves them), every mounted file exists, start order rests on health checks, secrets come only
// from .env.example's variables, and the environment names and ports are the ones the code reads.

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  secrets?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { environment?: string; file?: string }>;
  volumes: Record<string, unknown>;
}

const composeText = read("docker-compose.yml");
const compose = parse(composeText, { merge: true }) as Compose;
const services = Object.entries(compose.services);
/** Services that run the image built from this repository's Dockerfile. */
const mlwatchServices = services.filter(([, s]) => s.build === ".");
const env = (name: string) => compose.services[name]!.environment ?? {};
const portOf = (url: string) => new URL(url).port;

/** Every variable name our configuration schemas read (zod object keys), plus direct process.env reads. */
function variablesTheCodeReads(): Set<string> {
  const names = new Set<string>();
  for (const file of ["config.ts", "mcp-server/config.ts", "agent/configuration.ts"]) {
    for (const m of read(file).matchAll(/^\s+([A-Z][A-Z0-9_]*): z\./gm)) names.add(m[1]!);
  }
  for (const file of ["mcp-server/run-http.ts"]) {
    for (const m of read(file).matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
  }
  return names;
}

function envExampleVariables(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of read(".env.example").split("\n")) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

describe("docker-compose.yml", () => {
  it("has the whole stack", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["agent", "alertmanager", "clickhouse", "grafana", "inference", "mcp", "ollama", "ollama-pull", "prometheus"]);
  });

  it("pins every image tag", () => {
    for (const [name, s] of services) {
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it("mounts only files and folders that exist", () => {
    const binds = services.flatMap(([name, s]) => (s.volumes ?? []).filter((v) => v.startsWith("./")).map((v) => ({ name, host: v.split(":")[0]! })));
    expect(binds.length).toBeGreaterThanOrEqual(5);
    for (const { name, host } of binds) expect(fs.existsSync(path.join(ROOT, host)), `${name}: ${host}`).toBe(true);
    for (const [name, s] of services) {
      for (const v of (s.volumes ?? []).filter((x) => !x.startsWith("./"))) expect(Object.keys(compose.volumes), `${name}: ${v}`).toContain(v.split(":")[0]);
    }
  });

  it("starts in order: every dependency exists, and is healthy or has completed", () => {
    for (const [name, s] of services) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        if (condition === "service_healthy") expect(target!.healthcheck?.test.length, `${dep} needs a healthcheck for ${name}`).toBeGreaterThan(0);
        else expect({ condition, restart: target!.restart }, `${name} → ${dep}`).toEqual({ condition: "service_completed_successfully", restart: "no" });
      }
    }
    const longRunning = services.filter(([name, s]) => s.restart !== "no" && name !== "agent");
    for (const [name, s] of longRunning) expect(s.healthcheck, name).toBeDefined();
  });

  it("takes every secret from .env.example's variables and writes none", () => {
    const example = envExampleVariables();
    const used = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]!));
    expect([...used].sort()).toEqual([...example.keys()].sort());
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/TOKEN|PASSWORD|SECRET/.test(key)) expect(value, `${name}.${key}`).toBe(`\${${key.replace(/^GF_SECURITY_ADMIN_/, "GRAFANA_ADMIN_")}}`);
      }
    }
    for (const [key, value] of example) if (/TOKEN|PASSWORD/.test(key)) expect(value, key).toMatch(/^change-me/);
    expect(read(".gitignore").split("\n")).toContain(".env");
  });

  it("gives the mlwatch roles only variables the code reads, and each role only the tokens it needs", () => {
    const known = variablesTheCodeReads();
    expect(mlwatchServices.map(([n]) => n).sort()).toEqual(["agent", "inference", "mcp"]);
    for (const [name, s] of mlwatchServices) {
      for (const key of Object.keys(s.environment ?? {})) expect(known, `${name}: ${key}`).toContain(key);
    }
    // The approval gate: the agent holds its MCP token and nothing that approves or changes traffic directly.
    expect(Object.keys(env("agent"))).not.toContain("MLWATCH_ADMIN_TOKEN");
    expect(Object.keys(env("agent"))).not.toContain("MLWATCH_APPROVER_TOKEN");
    expect(env("agent").MLWATCH_MCP_TOKEN).toBe("${MLWATCH_MCP_TOKEN}");
  });

  it("runs real commands: the CLI's serve and agent, the standalone MCP endpoint", async () => {
    const commands: Record<string, Command> = {
      serve: (await import("../../cli/commands/serve.ts")).serveCommand,
      agent: (await import("../../cli/commands/agent.ts")).agentCommand,
      mcp: (await import("../../cli/commands/mcp.ts")).mcpCommand,
    };
    expect(read("Dockerfile")).toMatch(/ENTRYPOINT \["node", "bin\/mlwatch\.js"\]/);
    for (const service of ["inference", "agent", "mcp"]) {
      const command = compose.services[service]!.command![0]!;
      expect(commands[command]?.name, service).toBe(command);
    }
    expect(compose.services.mcp!.command).toEqual(["mcp", "--http"]);
    expect(commands.mcp!.usage).toContain("--http");
    const ignored = read(".dockerignore").split("\n").filter((l) => l && !l.startsWith("#"));
    for (const needed of ["bin", "cli", "config.ts", "mcp-server", "package.json", "package-lock.json", "tsconfig.json"]) expect(ignored).not.toContain(needed);
  });

  it("agrees on ports: inference, MCP, ClickHouse, Prometheus, Alertmanager, Grafana's datasources", () => {
    const inferencePort = env("inference").MLWATCH_PORT!;
    const mcpPort = env("mcp").MLWATCH_PORT!;
    expect(compose.services.inference!.ports).toContain(`${inferencePort}:${inferencePort}`);
    expect(compose.services.mcp!.ports).toContain(`${mcpPort}:${mcpPort}`);
    expect(compose.services.inference!.healthcheck!.test.join(" ")).toContain(`http://127.0.0.1:${inferencePort}/healthz`);
    expect(compose.services.mcp!.healthcheck!.test.join(" ")).toContain(`http://127.0.0.1:${mcpPort}/mcp`);
    expect(env("mcp").MLWATCH_INFERENCE_URL).toBe(`http://inference:${inferencePort}`);
    for (const [name] of mlwatchServices) expect(env(name).MLWATCH_URL, name).toBe(`http://mcp:${mcpPort}/mcp`);

    const prometheus = parse(read("deploy/prometheus/prometheus.yml")) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    expect(prometheus.scrape_configs[0]!.static_configs[0]!.targets).toEqual([`inference:${inferencePort}`]);
    expect(prometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(["alertmanager:9093"]);
    expect(compose.services.alertmanager!.ports).toContain("9093:9093");

    const alertmanager = parse(read("deploy/alertmanager/alertmanager.yml")) as {
      receivers: { name: string; webhook_configs?: { url: string; http_config: { authorization: { credentials_file: string } } }[] }[];
    };
    const webhook = alertmanager.receivers.find((r) => r.name === "mlwatch-agent")!.webhook_configs![0]!;
    expect(webhook.url).toBe(`http://inference:${inferencePort}/v1/alerts`);
    const secret = path.basename(webhook.http_config.authorization.credentials_file);
    expect(webhook.http_config.authorization.credentials_file).toBe(`/run/secrets/${secret}`);
    expect(compose.services.alertmanager!.secrets).toContain(secret);
    expect(compose.secrets[secret]).toEqual({ environment: "MLWATCH_ALERT_TOKEN" });
    expect(env("inference").MLWATCH_ALERT_TOKEN).toBe("${MLWATCH_ALERT_TOKEN}");

    const datasources = parse(read("deploy/grafana/provisioning/datasources/datasources.yml")) as { datasources: { type: string; url?: string; jsonData: Record<string, unknown> }[] };
    expect(datasources.datasources.find((d) => d.type === "prometheus")!.url).toBe("http://prometheus:9090");
    expect(compose.services.prometheus!.ports).toContain("9090:9090");
    const clickhouse = datasources.datasources.find((d) => d.type === "grafana-clickhouse-datasource")!.jsonData;
    const chUrl = new URL(env("inference").CLICKHOUSE_URL!);
    expect({ host: clickhouse.host, port: String(clickhouse.port), protocol: clickhouse.protocol }).toEqual({ host: chUrl.hostname, port: portOf(chUrl.href), protocol: "http" });
    for (const v of ["CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DATABASE"]) expect(env("grafana")[v], v).toBe(`\${${v}}`);
  });

  it("pulls the model the agent is configured with, once, before the agent starts", () => {
    const pull = compose.services["ollama-pull"]!;
    expect(pull.entrypoint).toEqual(["ollama", "pull", "${MLWATCH_OLLAMA_MODEL}"]);
    expect(pull.environment!.OLLAMA_HOST).toBe(env("agent").OLLAMA_HOST);
    expect(env("agent").MLWATCH_OLLAMA_MODEL).toBe("${MLWATCH_OLLAMA_MODEL}");
    expect(compose.services.agent!.depends_on!["ollama-pull"]).toEqual({ condition: "service_completed_successfully" });
  });
});
