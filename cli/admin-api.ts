import { loadConfig } from "../config.ts";
import { loadMcpConfig } from "../mcp-server/config.ts";
import { readReply } from "../rollout/admin-client.ts";
import type { ArmAllocation } from "../rollout/bandit.ts";
import type { TrafficState } from "../store/deployments.ts";
import { CommandError } from "./command.ts";

/**
 * The running `mlwatch serve`'s admin API as the CLI reaches it: MLWATCH_INFERENCE_URL, else
 * http://127.0.0.1:$MLWATCH_PORT, with MLWATCH_ADMIN_TOKEN as the bearer token. Failures are one
 * line saying what to set.
 */
export function adminApi() {
  const baseUrl = loadMcpConfig().localInferenceUrl;
  const token = loadConfig().inference.adminToken;
  const origin = new URL(baseUrl).origin;
  const failure = (status: number | null, message: string): CommandError => {
    if (status === null) return new CommandError(`mlwatch serve does not answer at ${origin} (MLWATCH_INFERENCE_URL, else http://127.0.0.1:$MLWATCH_PORT): ${message}`);
    const hint = status === 401 || status === 403 ? " (set MLWATCH_ADMIN_TOKEN to the token serve runs with)" : "";
    return new CommandError(`${message}${hint}`);
  };
  /** The answer when it is a 2xx; anything else is a one-line CommandError naming the field and reason. */
  const request = async (path: string, init: { method: string; body?: RequestInit["body"]; contentType?: string; timeoutMs: number }): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, baseUrl), {
        method: init.method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.contentType ? { "content-type": init.contentType } : {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(init.timeoutMs),
      });
    } catch (err) {
      throw failure(null, causeOf(err));
    }
    if (res.ok) return res;
    const { text, json } = await readReply(res);
    const field = res.status === 400 && typeof json.field === "string" ? ` (${json.field})` : "";
    const reason = typeof json.reason === "string" ? json.reason : text.slice(0, 300).replace(/\s+/g, " ");
    throw failure(res.status, `the inference admin API answered ${res.status}${json.error ? ` ${String(json.error)}` : ""}${field}: ${reason}`);
  };
  const send = async (path: string, body?: unknown): Promise<unknown> => {
    const res = await request(
      path,
      body === undefined ? { method: "GET", timeoutMs: 15_000 } : { method: "POST", body: JSON.stringify(body), contentType: "application/json", timeoutMs: 300_000 },
    );
    return (await readReply(res)).json;
  };
  return {
    baseUrl,
    token,
    failure,
    request,
    get: (path: string) => send(path),
    post: (path: string, body: unknown) => send(path, body),
    traffic: async (model: string) => (await send(`/v1/admin/models/${encodeURIComponent(model)}/traffic`)) as { state: TrafficState; event_id: string | null; allocation: ArmAllocation[] | null },
  };
}

/** "connect ECONNREFUSED 127.0.0.1:8080" rather than undici's bare "fetch failed". */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
