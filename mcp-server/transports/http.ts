import type { AddressInfo } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createMcpHandler, type AuthInfo } from "@modelcontextprotocol/server";
import { z } from "zod";
import { answer, documentedBody, errorResponses, requires } from "../../http/openapi.ts";
import { decide, type OnDecision } from "../actions.ts";
import { APPROVE_SCOPE, authenticateApprover, authenticateMcp, type AuthOutcome, type HttpAuthPolicy, type Principal, type RequestFacts } from "../auth.ts";
import { listProposals, ProposalError, proposalStatuses, UnknownProposalError, type ProposalStatus } from "../../rollout/proposals.ts";
import { proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { createMcpServer, type McpDeps } from "../server.ts";
import type { Config } from "../../config.ts";
import type { Store } from "../../store/client.ts";
import { nowMicros } from "../../store/clock.ts";
import type { McpConfig } from "../config.ts";
import type { McpMetrics } from "../metrics.ts";

export interface McpHttpOptions extends HttpAuthPolicy {
  /** Everything but who calls (set per request) and where the admin API is (see inferenceUrl). */
  deps: Omit<McpDeps, "principal" | "inferenceUrl">;
  /** Admin API base URL; unset: this Fastify instance's own listener, as when `mlwatch serve` hosts us. */
  inferenceUrl?: string;
  path?: string;
  /** Told of each decision made through `POST /v1/approvals/:id` (`mlwatch approve`). */
  onDecision?: OnDecision;
}

/** What `mlwatch serve` and `mlwatch mcp --http` both mount, from the validated configuration. */
export function mcpHttpOptionsFrom(store: Store, config: Config, mcp: McpConfig, inferenceUrl: string | undefined, metrics: McpMetrics): McpHttpOptions {
  return {
    deps: { store, config, adminToken: config.inference.adminToken, actionsEnabled: mcp.actionsEnabled, limits: mcp.limits, proposalTtlSeconds: mcp.proposalTtlSeconds, metrics },
    ...(inferenceUrl ? { inferenceUrl } : {}),
    mcpToken: mcp.mcpToken,
    approverToken: mcp.approverToken,
    allowedOrigins: mcp.allowedOrigins,
  };
}

const INVALID_JSON = Symbol("invalid json");

const rpcErrorSchema = z.object({ jsonrpc: z.literal("2.0"), error: z.object({ code: z.number().int(), message: z.string() }), id: z.null() });
const initializeExample = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "example-client", version: "1.0.0" } },
};

const APPROVER_REASON = "approver (the person's name, 1–200 characters) is required";
const REASON_REASON = "reason must be a string of at most 2000 characters";

/** The approver's decision on a proposal; decision defaults to approve. */
const approvalBodySchema = z
  .object({
    decision: z.enum(["approve", "reject"], { error: "decision must be 'approve' or 'reject'" }).default("approve"),
    approver: z.string({ error: APPROVER_REASON }).min(1, APPROVER_REASON).max(200, APPROVER_REASON).describe("The person deciding"),
    reason: z.string({ error: REASON_REASON }).max(2000, REASON_REASON).default(""),
  })
  .strict();

const mcpDoc = { tags: ["mcp"], security: requires("mcpToken", "approverToken") };
const approvalsDoc = { tags: ["approvals"], security: requires("approverToken") };
const APPROVAL_ERRORS = [400, 401, 403, 500] as const;

/**
 * Streamable HTTP, stateless: the SDK's handler builds a fresh server for each POST, so no session
 * state lives here and any replica can answer any request. It serves the 2026-07-28 revision and,
 * for clients that open with `initialize`, the 2025 revisions they negotiate. Also hosts the
 * approver-only `POST /v1/approvals/:id`.
 */
export async function registerMcpHttp(app: FastifyInstance, options: McpHttpOptions): Promise<void> {
  const path = options.path ?? "/mcp";
  const inferenceUrl = () => options.inferenceUrl ?? ownUrl(app);
  const clock = options.deps.clock ?? nowMicros;
  // Who calls is settled here, before the SDK sees the request; its factory finds it by that request.
  const callers = new WeakMap<Request, Principal>();
  const handler = createMcpHandler(({ requestInfo }) => createMcpServer({ ...options.deps, inferenceUrl: inferenceUrl(), principal: callers.get(requestInfo!)! }), {
    onerror: (err) => app.log.warn({ err }, "MCP request refused or failed"),
  });

  await app.register(async (scope) => {
    // JSON-RPC wants a JSON-RPC parse error, not the HTTP error envelope, for a body that is not JSON.
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, body === "" ? undefined : JSON.parse(body as string));
      } catch {
        done(null, INVALID_JSON);
      }
    });

    const principals = new WeakMap<FastifyRequest, Principal>();
    scope.addHook("onRequest", async (request, reply) => {
      // Default deny: every route of this scope but the MCP endpoint itself is the approver's.
      const isApproval = request.routeOptions.url !== path;
      const outcome = (isApproval ? authenticateApprover : authenticateMcp)(facts(request), options);
      if (!outcome.ok) return refuse(reply, outcome, isApproval);
      principals.set(request, outcome.principal);
    });

    const mcpSchema = {
      ...mcpDoc,
      operationId: "mcp",
      summary: "One JSON-RPC message (or batch) of the Model Context Protocol; send Accept: application/json, text/event-stream",
      // Any JSON: the SDK's transport answers a malformed message itself, as JSON-RPC.
      body: { description: "A JSON-RPC request, notification or batch", examples: [initializeExample] },
      response: {
        200: { description: "The JSON-RPC answer, as application/json or one text/event-stream", type: "object", additionalProperties: true },
        202: { description: "A notification or response accepted; no body", type: "null" },
        400: answer("Not JSON, or not a JSON-RPC message", rpcErrorSchema),
        401: answer("No bearer token where one is required", rpcErrorSchema),
        403: answer("Wrong token, a disallowed Origin, or a non-loopback caller without a configured token", rpcErrorSchema),
        406: answer("The Accept header lacks application/json or text/event-stream", rpcErrorSchema),
        500: answer("Internal error", rpcErrorSchema),
      },
    };
    scope.post(path, { schema: mcpSchema }, async (request, reply) => {
      if (request.body === INVALID_JSON) return reply.code(400).send(rpcError(-32700, "Parse error: the body is not valid JSON"));
      const principal = principals.get(request)!;
      // The client going away cancels the exchange: the SDK aborts the tool call it was waiting for.
      const gone = new AbortController();
      reply.raw.once("close", () => reply.raw.writableFinished || gone.abort());
      const web = webRequest(request, gone.signal);
      callers.set(web, principal);
      try {
        return reply.send(await handler.fetch(web, { authInfo: authInfo(principal), parsedBody: request.body }));
      } catch (err) {
        request.log.error({ err }, "MCP request failed");
        return reply.code(500).send(rpcError(-32603, "Internal server error"));
      }
    });

    // Stateless: no standalone SSE stream to GET and no session to DELETE.
    for (const method of ["GET", "DELETE"] as const) {
      scope.route({
        method,
        url: path,
        schema: {
          ...mcpDoc,
          operationId: `mcp${method === "GET" ? "Stream" : "EndSession"}`,
          summary: `${method} is refused: the endpoint is stateless (no event stream, no session)`,
          response: { 405: answer("Method not allowed; the Allow header says POST", rpcErrorSchema), 401: answer("No bearer token", rpcErrorSchema), 403: answer("Wrong token or caller", rpcErrorSchema) },
        },
        handler: async (_request, reply) => reply.code(405).header("allow", "POST").send(rpcError(-32000, "Method not allowed: this endpoint is stateless; POST JSON-RPC messages")),
      });
    }

    const listSchema = {
      ...approvalsDoc,
      operationId: "listProposals",
      summary: "Proposals awaiting (or past) a person's decision, newest first",
      // Checked by the handler, which answers in the same envelope whichever app mounts this scope.
      querystring: { type: "object", properties: { status: { type: "string", description: `One of ${proposalStatuses.join(", ")}` }, model: { type: "string" } } },
      response: { 200: answer("At most 200 proposals", z.object({ proposals: z.array(proposalViewSchema) })), ...errorResponses(...APPROVAL_ERRORS) },
    };
    scope.get<{ Querystring: { status?: string; model?: string } }>("/v1/approvals", { schema: listSchema }, async (request, reply) => {
      const { status, model } = request.query;
      if (status !== undefined && !(proposalStatuses as readonly string[]).includes(status)) {
        return reply.code(400).send({ error: "invalid_request", field: "querystring.status", reason: `status must be one of ${proposalStatuses.join(", ")}` });
      }
      const now = clock();
      const found = await listProposals(options.deps.store, { status: status as ProposalStatus | undefined, model, nowUs: now, limit: 200, offset: 0 });
      return { proposals: found.map((p) => viewProposal(p, now)) };
    });

    scope.post<{ Params: { id: string }; Body: unknown }>(
      "/v1/approvals/:id",
      {
        schema: {
          ...approvalsDoc,
          operationId: "decideProposal",
          summary: "Approve or reject a proposal, as the person holding the approver token",
          params: { type: "object", properties: { id: { type: "string", maxLength: 100 } }, required: ["id"] },
          response: { 200: answer("The proposal after the decision", z.object({ proposal: proposalViewSchema })), ...errorResponses(...APPROVAL_ERRORS, 404, 409, 413, 415) },
        },
        config: documentedBody(approvalBodySchema, [{ decision: "approve", approver: "Ada Lovelace", reason: "the canary's gate figures look right" }]),
      },
      async (request, reply) => {
        const body = request.body;
        const parsed = parseApproval(body);
        if ("field" in parsed) return reply.code(400).send({ error: "invalid_request", ...parsed });
        const now = clock();
        try {
          const p = await decide(options.deps.store, request.params.id, { approve: parsed.decision === "approve", by: parsed.approver, reason: parsed.reason }, now);
          options.onDecision?.(p.id, { decision: parsed.decision, by: parsed.approver, reason: parsed.reason });
          return { proposal: viewProposal(p, now) };
        } catch (err) {
          if (err instanceof UnknownProposalError) return reply.code(404).send({ error: "not_found", reason: err.message });
          if (err instanceof ProposalError) return reply.code(409).send({ error: "conflict", reason: err.message });
          throw err;
        }
      },
    );
  });
}

function facts(request: FastifyRequest): RequestFacts {
  return {
    authorization: request.headers.authorization,
    origin: request.headers.origin,
    host: request.headers.host,
    remoteAddress: request.socket.remoteAddress,
  };
}

function refuse(reply: FastifyReply, outcome: Extract<AuthOutcome, { ok: false }>, plainJson: boolean) {
  if (outcome.status === 401) reply.header("www-authenticate", 'Bearer realm="mlwatch"');
  const body = plainJson ? { error: outcome.status === 401 ? "unauthorized" : "forbidden", reason: outcome.reason } : rpcError(-32001, outcome.reason);
  return reply.code(outcome.status).send(body);
}

/** The SDK's handler reads the method, headers and signal; the body goes as `parsedBody`, already parsed. */
function webRequest(request: FastifyRequest, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) for (const v of [value ?? []].flat()) headers.append(name, v);
  // Only the path is read from the URL; a fixed origin keeps a malformed Host from failing the request.
  return new Request(new URL(request.url, "http://mcp.invalid"), { method: request.method, headers, signal });
}

/** The SDK hands this to tool handlers as `ctx.http.authInfo`; approve_action checks the scope. */
function authInfo(p: Principal): AuthInfo {
  return { token: "(redacted)", clientId: p.name, scopes: p.role === "approver" ? [APPROVE_SCOPE] : [] };
}

function parseApproval(body: unknown): { decision: "approve" | "reject"; approver: string; reason: string } | { field: string; reason: string } {
  if (body === INVALID_JSON) return { field: "body", reason: "the body is not valid JSON" };
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { field: "body", reason: "expected a JSON object {decision, approver, reason?}" };
  const parsed = approvalBodySchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") return { field: `body.${issue.keys[0]}`, reason: `unknown property '${issue.keys[0]}'` };
  return { field: ["body", ...issue.path].join("."), reason: issue.message };
}

function rpcError(code: number, message: string) {
  return { jsonrpc: "2.0", error: { code, message }, id: null };
}

/** This process's own listener: over loopback when it listens there or on every interface. */
function ownUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | null;
  if (!address || typeof address === "string") throw new Error("the MCP endpoint's own address is unknown; set MLWATCH_INFERENCE_URL");
  const wildcard = address.address === "0.0.0.0" || address.address === "::";
  const host = wildcard ? "127.0.0.1" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
