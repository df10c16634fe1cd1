import fs from "node:fs";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerTrained } from "./helpers/models.ts";
import { startServe, type ServeProcess } from "./helpers/serve-process.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// The OpenAPI document `mlwatch serve` serves at /docs/json, as a user's tools read it: linted with
// Redocly's recommended rules, and every request example in it posted to the same running service.

const TOKENS = {
  adminToken: "openapi-admin-token-0123456789",
  mcpToken: "openapi-mcp-token-0123456789",
  approverToken: "openapi-approver-token-0123456789",
  alertToken: "openapi-alert-token-0123456789",
};

/** Warnings left, each with why: nothing in these routes can answer what the rule asks for. */
const EXPECTED_WARNINGS = [
  // Health probes take no input and no credential: no 4xx is theirs to answer.
  ["operation-4xx-response", "#/paths/~1healthz/get/responses"],
  ["operation-4xx-response", "#/paths/~1readyz/get/responses"],
  // The stateless MCP endpoint answers GET and DELETE with 405 only (the Streamable HTTP spec's way to refuse them).
  ["operation-2xx-response", "#/paths/~1mcp/get/responses"],
  ["operation-2xx-response", "#/paths/~1mcp/delete/responses"],
];

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; example?: unknown }[];
  requestBody?: { content: Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };

let t: TempStore;
let server: ServeProcess | undefined;
let doc: Doc;

const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

function call(path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
  return fetch(server!.url + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

beforeAll(async () => {
  // Versions 1–3 of the demo model, registered before serve takes the store.
  t = await tempStore();
  for (const seed of [1, 2, 3]) await registerTrained(t.store, t.config.modelDir, { model: "credit", seed, rows: 800 });
  await t.store.close();
  server = await startServe({
    MLWATCH_DATA_DIR: t.dir,
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_FAULT_INJECTION: "1",
    MLWATCH_ADMIN_TOKEN: TOKENS.adminToken,
    MLWATCH_MCP_TOKEN: TOKENS.mcpToken,
    MLWATCH_APPROVER_TOKEN: TOKENS.approverToken,
    MLWATCH_ALERT_TOKEN: TOKENS.alertToken,
  });
  const res = await call("/docs/json");
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
}, 180_000);

afterAll(async () => {
  await server?.stop("SIGTERM");
  fs.rmSync(t.dir, { recursive: true, force: true });
});

describe("the served OpenAPI document", () => {
  it("lints with Redocly's recommended rules: no errors, and only the warnings listed with their reasons", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "/openapi.json", config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}: ${p.message}`);
    expect(found.filter((p) => p.startsWith("error"))).toEqual([]);
    const warnings = problems.filter((p) => p.severity === "warn").map((p) => [p.ruleId, p.location[0]?.pointer]);
    expect(warnings.sort()).toEqual([...EXPECTED_WARNINGS].sort());
  });

  it("names every operation, tags and summarises it, and gives each answer and refusal a schema", () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, where).toBeTruthy();
      expect(ids.has(op.operationId!), `${where}: operationId ${op.operationId} is taken`).toBe(false);
      ids.add(op.operationId!);
      expect(op.tags?.length, where).toBeGreaterThan(0);
      expect(op.summary, where).toBeTruthy();
      expect(op.security, `${where} declares its security`).toBeDefined();
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === "202" && path === "/mcp") continue; // an accepted notification has no body
        // A job's result is a CSV download; every other answer and refusal is JSON.
        const media = path === "/v1/jobs/{id}/result" && status === "200" ? "text/csv" : "application/json";
        expect(response.content?.[media]?.schema, `${where} ${status}`).toBeDefined();
      }
    }
  });

  it("declares the bearer scheme each door takes: admin token on the admin API, approver on approvals, alert on the webhook", () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(Object.keys(TOKENS).sort());
    for (const { path, method, op } of operations()) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      if (path.startsWith("/v1/admin/")) expect(schemes, `${method} ${path}`).toEqual(["adminToken"]);
      if (path.startsWith("/v1/approvals")) expect(schemes, `${method} ${path}`).toEqual(["approverToken"]);
      if (path === "/v1/alerts") expect(schemes).toEqual(["alertToken"]);
      if (path === "/mcp") expect(schemes).toEqual(["mcpToken", "approverToken"]);
    }
    expect(doc.paths["/v1/models/{name}/predict"]!.post!.security).toEqual([]);
  });

  it("every request example is accepted by the running service (none refused with 400)", async () => {
    // The admin examples run in document order from this state (rollout/admin-codec.ts routeExamples).
    for (const body of [
      { version: "1", role: "primary" },
      { version: "3", role: "shadow" },
    ]) {
      expect((await call("/v1/admin/models/credit/deploy", { body: { ...body, actor: "test", reason: "setup" }, token: TOKENS.adminToken })).status).toBe(200);
    }
    let posted = 0;
    for (const { path, method, op } of operations()) {
      const media = op.requestBody?.content["application/json"];
      if (!media) continue;
      const examples = media.examples ? Object.values(media.examples).map((e) => e.value) : [media.example];
      expect(examples.filter((e) => e !== undefined).length, `${method} ${path} has an example`).toBeGreaterThan(0);
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => String(op.parameters?.find((p) => p.name === name)?.example ?? "p-example"));
      const scheme = op.security?.[0] ? Object.keys(op.security[0])[0] : undefined;
      for (const body of examples) {
        const res = await call(url, {
          method: method.toUpperCase(),
          body,
          token: scheme ? TOKENS[scheme as keyof typeof TOKENS] : undefined,
          headers: path === "/mcp" ? { accept: "application/json, text/event-stream" } : {},
        });
        const what = `${method.toUpperCase()} ${url} ${JSON.stringify(body).slice(0, 200)} → ${res.status} ${(await res.text()).slice(0, 500)}`;
        // No proposal has that id: the body passed its checks and the id is what is not found.
        if (path === "/v1/approvals/{id}") expect(res.status, what).toBe(404);
        else expect(res.status >= 200 && res.status < 300, what).toBe(true);
        posted++;
      }
    }
    expect(posted).toBeGreaterThanOrEqual(15);
  }, 120_000);
});
