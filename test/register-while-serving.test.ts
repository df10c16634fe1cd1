import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import { churnData, sklearnLogistic, writeCsv } from "./helpers/onnx-conventions.ts";
import { runCli, startServe, type ServeProcess } from "./helpers/serve-process.ts";

// `mlwatch train` and `mlwatch models import` while `mlwatch serve` owns the embedded store: the
// version is registered through serve's admin API, and serve keeps serving.

const ADMIN = "register-admin-token-0123456789";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-register-serving-"));
const env = { MLWATCH_DATA_DIR: dir, MLWATCH_ADMIN_TOKEN: ADMIN, MLWATCH_HOST: "127.0.0.1" };
let server: ServeProcess | undefined;
let cliEnv: Record<string, string>;

const admin = (route: string, init: RequestInit = {}) =>
  fetch(`${server!.url}/v1/admin/models/${route}`, { ...init, headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}`, ...init.headers } });

beforeAll(async () => {
  server = await startServe(env);
  cliEnv = { ...env, MLWATCH_INFERENCE_URL: server.url };
}, 120_000);

afterAll(async () => {
  await server?.stop("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

it("train registers through serve, and serve answers with the new version right away", async () => {
  const { stdout } = await runCli(["train", "--name", "credit", "--rows", "1500"], cliEnv);
  expect(stdout).toMatch(new RegExp(`registered credit v1 \\(logistic, .*held-out accuracy .* \\(through mlwatch serve at ${server!.url}\\)`));
  const versions = (await (await admin("credit/versions")).json()) as { versions: { version: string; status: string }[] };
  expect(versions.versions.map((v) => v.version)).toEqual(["1"]);
  expect((await admin("credit/deploy", { method: "POST", body: JSON.stringify({ version: "1", role: "primary", actor: "test", reason: "serve it" }) })).status).toBe(200);
  const res = await fetch(`${server!.url}/v1/models/credit/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ features: generateCredit(1, 5).examples[0]!.row }),
  });
  expect(((await res.json()) as { version: string }).version).toBe("1");
}, 120_000);

it("models import registers through serve too", async () => {
  const work = fs.mkdtempSync(path.join(dir, "byo-"));
  writeCsv(path.join(work, "reference.csv"), churnData(800, 1));
  fs.writeFileSync(path.join(work, "skl.onnx"), sklearnLogistic("int", false));
  const schema = { features: ["tenure", "charges", "calls"].map((name) => ({ name, type: "numeric" })), classes: ["no", "yes"] };
  fs.writeFileSync(path.join(work, "schema.json"), JSON.stringify(schema));
  const { stdout } = await runCli(
    ["models", "import", path.join(work, "skl.onnx"), "--name", "churn", "--reference", path.join(work, "reference.csv"), "--schema", path.join(work, "schema.json"), "--label", "churned"],
    cliEnv,
  );
  expect(stdout).toMatch(/registered churn v1 \(imported .*skl\.onnx\): baseline from 800 reference rows, reference accuracy .* \(through mlwatch serve at /);
  expect(((await (await admin("churn/versions")).json()) as { versions: unknown[] }).versions).toHaveLength(1);
}, 120_000);

it("a malformed registration is a 400 naming the field, and registers nothing", async () => {
  const bad = await admin("credit/versions", { method: "POST", body: JSON.stringify({ kind: "logistic", onnx: "AAAA", schema: { features: [], classes: ["a", "b"], label: "y" } }) });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ error: "invalid_request", field: "body.schema.features" });
  const unauthorised = await fetch(`${server!.url}/v1/admin/models/credit/versions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(unauthorised.status).toBe(401);
  expect(((await (await admin("credit/versions")).json()) as { versions: unknown[] }).versions).toHaveLength(1);
});
