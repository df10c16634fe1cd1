import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { buildInferenceApp, type InferenceApp } from "../inference/app.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// The app as buildInferenceApp returns it, never listening: what the root sets (JSON parser, error
// envelope) reaches every route plugin, and what a plugin sets (the admin guard) stays in it.

const ADMIN = "app-admin-token-0123456789";
let t: TempStore;
let built: InferenceApp;

beforeAll(async () => {
  t = await tempStore({ MLWATCH_ADMIN_TOKEN: ADMIN });
  built = await buildInferenceApp({ config: t.config, store: t.store, logger: pino({ level: "silent" }) });
}, 120_000);

afterAll(async () => {
  await built?.close();
  await t?.cleanup();
});

describe("buildInferenceApp", () => {
  it("builds a ready app that does not listen, and answers through inject", async () => {
    expect(built.app.server.listening).toBe(false);
    expect((await built.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await built.app.inject({ url: "/docs/json" })).json().paths["/v1/models/{name}/predict"].post.operationId).toBe("predict");
  });

  it("applies the root's parser and error envelope inside route plugins, and the admin guard only to admin routes", async () => {
    const predict = (payload: string) => built.app.inject({ method: "POST", url: "/v1/models/nope/predict", headers: { "content-type": "application/json" }, payload });
    const malformed = await predict('{"features": {');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ field: "body", reason: expect.stringMatching(/not valid JSON/) });
    const unknown = await predict(JSON.stringify({ features: { age: 1 } }));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().reason).toMatch(/unknown model 'nope'/);
    expect((await built.app.inject({ url: "/v1/admin/models/nope/traffic" })).statusCode).toBe(401);
    const admitted = await built.app.inject({ url: "/v1/admin/models/nope/traffic", headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admitted.statusCode).toBe(404);
  });
});
