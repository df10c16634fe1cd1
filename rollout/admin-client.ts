import type { TrafficState } from "../store/deployments.ts";
import { bodyFromChange } from "./admin-codec.ts";
import type { TrafficChange } from "./traffic-changes.ts";

/** status null: the request may not have arrived (unreachable, timed out). */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** An admin API answer as text and, when it is JSON, parsed; a non-JSON answer is reported by its status. */
export async function readReply(res: Response): Promise<{ text: string; json: Record<string, unknown> }> {
  const text = await res.text();
  try {
    return { text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return { text, json: {} };
  }
}

export interface ChangeAudit {
  actor: string;
  reason: string;
  proposalId: string;
  approvalId: string;
  expectedEventId: string;
}

/** One traffic change through the inference service's admin API: the only way an action touches traffic. */
export async function postTrafficChange(
  baseUrl: string,
  token: string | undefined,
  model: string,
  change: TrafficChange,
  audit: ChangeAudit,
  signal?: AbortSignal,
): Promise<{ eventId: string; state: TrafficState }> {
  const { route, body } = bodyFromChange(change);
  const url = new URL(`/v1/admin/models/${encodeURIComponent(model)}/${route}`, baseUrl);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({
        ...body,
        actor: audit.actor,
        reason: audit.reason,
        proposal_id: audit.proposalId,
        approval_id: audit.approvalId,
        expected_event_id: audit.expectedEventId,
      }),
      signal: signal ?? AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new AdminApiError(`cannot reach the inference admin API at ${url.origin} (MLWATCH_INFERENCE_URL): ${err instanceof Error ? err.message : String(err)}`, null);
  }
  const { text, json } = await readReply(res);
  if (!res.ok) {
    const reason = typeof json.reason === "string" ? json.reason : text.slice(0, 300);
    throw new AdminApiError(`the inference admin API answered ${res.status}${json.error ? ` ${String(json.error)}` : ""}: ${reason}`, res.status);
  }
  return { eventId: String(json.event_id), state: json.state as TrafficState };
}
