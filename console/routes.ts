import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { getIncident, listIncidents, UnknownIncidentError } from "../incidents/incident-store.ts";
import { decide, type OnDecision } from "../mcp-server/actions.ts";
import { editProposal, type ProposalEdit } from "../mcp-server/edit-proposal.ts";
import { RegistryError } from "../models/registry.ts";
import { viewProposal } from "../mcp-server/proposal-view.ts";
import { ProposalError, readProposal, UnknownProposalError, type Proposal } from "../rollout/proposals.ts";
import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";
import { changeRefusal, isRefusal, originRefusal, readAccess, signInRefusal, type ConsoleTokens, type RequestFacts, type Viewer } from "./access.ts";
import { loadAssets } from "./assets.ts";
import { modelDetail, modelsFigures, WINDOW_SECONDS } from "./figures.ts";
import type { Html } from "./html.ts";
import { incidentView } from "./pages/incident.ts";
import { incidentsView } from "./pages/incidents.ts";
import { page as layout, problem } from "./pages/layout.ts";
import { modelView } from "./pages/model.ts";
import { modelsView } from "./pages/models.ts";
import { signInView } from "./pages/signin.ts";
import { clearedCookie, cookieValue, SESSION_COOKIE, sessionCookie, Sessions } from "./sessions.ts";

/**
 * A person's decision taken in the console, handed on so that a run waiting on it goes on (serve
 * resumes the agent). An edit names the proposal that superseded the one decided on.
 */

export interface ConsoleOptions extends ConsoleTokens {
  store: Store;
  /** µs since the epoch; the store's clock by default. */
  clock?: () => number;
  sessionTtlSeconds?: number;
  /** How often an open page fetches its figures again (default 5 s). */
  pollMs?: number;
  onDecision?: OnDecision;
}

/** Live updates ask for the page's main part only, with this header. */
const LIVE_HEADER = "x-mlwatch-live";

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  // same-origin, not no-referrer: under no-referrer a browser's form POST carries `Origin: null`.
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

type Form = Record<string, string>;

/**
 * The web console at /ui: server-rendered pages (every value escaped by `html`), a small script that
 * polls for the page's main part, and sign-in / approve / reject for a person holding the approver token.
 */
export async function registerConsole(app: FastifyInstance, o: ConsoleOptions): Promise<void> {
  const clock = o.clock ?? nowMicros;
  const ttl = o.sessionTtlSeconds ?? 8 * 3600;
  const sessions = new Sessions(ttl * 1000);
  const assets = loadAssets();
  const pollMs = o.pollMs ?? 5000;
  const page = (title: string, viewer: Viewer, main: Html) => layout(title, viewer, main, pollMs);
  // A sign-in form or a refusal is not refreshed: fetched again it would lose what it answered.
  const still = (title: string, viewer: Viewer, main: Html) => layout(title, viewer, main, 0);
  const refuse = (reply: FastifyReply, viewer: Viewer, r: { status: number; reason: string }) => {
    const heading = HEADINGS[r.status] ?? "Not allowed";
    return reply.code(r.status).type("text/html; charset=utf-8").send(still(heading, viewer, problem(heading, r.reason)).text);
  };

  await app.register(async (scope) => {
    // Pages, not API: kept out of the OpenAPI document at /docs.
    scope.addHook("onRoute", (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.addHook("onSend", async (_request, reply) => {
      reply.headers(SECURITY_HEADERS);
    });

    const sessionOf = (request: FastifyRequest) => (o.approverToken ? sessions.find(cookieValue(request.headers.cookie, SESSION_COOKIE)) : undefined);

    /** Renders a page for whoever may read it; the rest are refused or sent to sign in. */
    const view = (title: string, build: (request: FastifyRequest, viewer: Viewer) => Promise<{ status?: number; main: Html }>) =>
      async (request: FastifyRequest, reply: FastifyReply) => {
        const access = readAccess(facts(request), sessionOf(request), o);
        if (access === "signin") return reply.redirect(`/ui/signin?next=${encodeURIComponent(request.url)}`, 303);
        if (isRefusal(access)) return refuse(reply, { session: undefined, canSignIn: !!o.approverToken }, access);
        const { status, main } = await build(request, access);
        reply.code(status ?? 200).type("text/html; charset=utf-8");
        if (!request.headers[LIVE_HEADER]) return page(title, access, main).text;
        // Marks the answer as the main part alone, so the page never swaps in a whole page (a redirect's, say).
        reply.header(LIVE_HEADER, "main");
        return main.text;
      };

    scope.get<{ Params: { file: string } }>("/ui/assets/:file", async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (!asset) return reply.code(404).type("text/plain").send("no such asset");
      return reply.type(asset.type).send(asset.body);
    });

    scope.get("/ui", view("Models", async () => ({ main: modelsView(await modelsFigures(o.store, clock()), WINDOW_SECONDS) })));

    scope.get<{ Params: { name: string } }>(
      "/ui/models/:name",
      view("Model", async (request) => {
        const name = (request.params as { name: string }).name;
        const detail = await modelDetail(o.store, name, clock());
        return detail ? { main: modelView(detail, WINDOW_SECONDS) } : { status: 404, main: problem("No such model", `No model named '${name}' is registered.`) };
      }),
    );

    scope.get<{ Querystring: { model?: string } }>(
      "/ui/incidents",
      view("Incidents", async (request) => {
        const model = (request.query as { model?: string }).model || undefined;
        return { main: incidentsView(await listIncidents(o.store, { model, limit: 200, offset: 0 }), model) };
      }),
    );

    scope.get<{ Params: { id: string } }>(
      "/ui/incidents/:id",
      view("Incident", async (request, viewer) => {
        const id = (request.params as { id: string }).id;
        try {
          const record = await getIncident(o.store, id);
          const chain = await proposalChain(o.store, record.pendingProposalId);
          return { main: incidentView(record, chain.map((p) => viewProposal(p, clock())), viewer) };
        } catch (err) {
          if (err instanceof UnknownIncidentError) return { status: 404, main: problem("No such incident", err.message) };
          throw err;
        }
      }),
    );

    scope.get<{ Querystring: { next?: string } }>("/ui/signin", async (request, reply) => {
      const viewer = { session: sessionOf(request), canSignIn: !!o.approverToken };
      if (!o.approverToken) return refuse(reply, viewer, { status: 403, reason: "no MLWATCH_APPROVER_TOKEN is configured, so the console is read-only" });
      return reply.type("text/html; charset=utf-8").send(still("Sign in", viewer, signInView(safeNext(request.query.next))).text);
    });

    scope.post<{ Body: Form }>("/ui/signin", async (request, reply) => {
      const viewer = { session: undefined, canSignIn: !!o.approverToken };
      const form = request.body ?? {};
      const refused = originRefusal(facts(request)) ?? signInRefusal(form.token ?? "", o);
      const next = safeNext(form.next);
      if (refused) return reply.code(refused.status).type("text/html; charset=utf-8").send(still("Sign in", viewer, signInView(next, refused.reason)).text);
      const person = (form.person ?? "").trim();
      if (person.length < 1 || person.length > 200) return reply.code(400).type("text/html; charset=utf-8").send(still("Sign in", viewer, signInView(next, "field person: your name, 1–200 characters, is required")).text);
      const session = sessions.open(person);
      reply.header("set-cookie", sessionCookie(session.id, ttl, request.protocol === "https"));
      return reply.redirect(next, 303);
    });

    scope.post<{ Body: Form }>("/ui/signout", async (request, reply) => {
      const session = sessionOf(request);
      const refused = changeRefusal(facts(request), session, request.body?.csrf);
      if (refused) return refuse(reply, { session, canSignIn: !!o.approverToken }, refused);
      sessions.close(session!.id);
      reply.header("set-cookie", clearedCookie(request.protocol === "https"));
      return reply.redirect("/ui", 303);
    });

    scope.post<{ Params: { id: string }; Body: Form }>("/ui/proposals/:id/decision", async (request, reply) => {
      const session = sessionOf(request);
      const viewer = { session, canSignIn: !!o.approverToken };
      const form = request.body ?? {};
      const refused = changeRefusal(facts(request), session, form.csrf);
      if (refused) return refuse(reply, viewer, refused);
      const invalid = invalidDecision(form);
      if (invalid) return refuse(reply, viewer, { status: 400, reason: invalid });
      const approve = form.decision === "approve";
      const reason = form.reason?.trim() || `${approve ? "approved" : "rejected"} by ${session!.person} in the console`;
      try {
        await decide(o.store, request.params.id, { approve, by: session!.person, reason }, clock());
      } catch (err) {
        if (err instanceof UnknownProposalError) return refuse(reply, viewer, { status: 404, reason: err.message });
        if (err instanceof ProposalError) return refuse(reply, viewer, { status: 409, reason: err.message });
        throw err;
      }
      o.onDecision?.(request.params.id, { decision: approve ? "approve" : "reject", by: session!.person, reason });
      return reply.redirect(form.incident ? `/ui/incidents/${encodeURIComponent(form.incident)}` : "/ui/incidents", 303);
    });

    scope.post<{ Params: { id: string }; Body: Form }>("/ui/proposals/:id/edit", async (request, reply) => {
      const session = sessionOf(request);
      const viewer = { session, canSignIn: !!o.approverToken };
      const form = request.body ?? {};
      const refused = changeRefusal(facts(request), session, form.csrf);
      if (refused) return refuse(reply, viewer, refused);
      const edit = editOf(form);
      if (typeof edit === "string") return refuse(reply, viewer, { status: 400, reason: edit });
      let edited: Proposal;
      try {
        edited = (await editProposal(o.store, request.params.id, edit, session!.person, clock())).edited;
      } catch (err) {
        if (err instanceof UnknownProposalError) return refuse(reply, viewer, { status: 404, reason: err.message });
        if (err instanceof ProposalError) return refuse(reply, viewer, { status: 409, reason: err.message });
        if (err instanceof RegistryError) return refuse(reply, viewer, { status: 400, reason: `field version: ${err.message}` });
        throw err;
      }
      o.onDecision?.(request.params.id, { decision: "edit", by: session!.person, reason: edit.reason, proposalId: edited.id });
      return reply.redirect(form.incident ? `/ui/incidents/${encodeURIComponent(form.incident)}` : "/ui/incidents", 303);
    });
  });
}

/** At most this many edits are followed from the proposal a run waits on. */
const MAX_EDITS_SHOWN = 20;

/** The proposal an incident waits on, then each edit that superseded it: the last one is the current proposal. */
async function proposalChain(store: Store, id: string | null): Promise<Proposal[]> {
  const chain: Proposal[] = [];
  let next = id;
  while (next && chain.length < MAX_EDITS_SHOWN) {
    const p = await readProposal(store, next);
    if (!p) break;
    chain.push(p);
    next = p.status === "superseded" ? p.supersededBy : null;
  }
  return chain;
}

/** The edit form's fields: a version, or traffic shares in whole percent, and a reason; a string says which field is wrong. */
function editOf(form: Form): ProposalEdit | string {
  const reason = (form.reason ?? "").trim();
  if (reason.length > 1000) return "field reason: at most 1000 characters";
  if (form.incident !== undefined && !/^[A-Za-z0-9._:-]{1,200}$/.test(form.incident)) return "field incident: not an incident id";
  const edit: ProposalEdit = { reason };
  const version = (form.version ?? "").trim();
  if (version) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(version)) return "field version: a registered version, such as 3";
    edit.version = version;
  }
  for (const [field, key] of [["canary_percent", "canaryPercent"], ["shadow_percent", "shadowPercent"]] as const) {
    const text = (form[field] ?? "").trim();
    if (!text) continue;
    const n = Number(text);
    if (!/^\d{1,3}$/.test(text) || n > 100) return `field ${field}: a whole percentage from 0 to 100`;
    edit[key] = n;
  }
  return edit;
}

function invalidDecision(form: Form): string | undefined {
  if (form.decision !== "approve" && form.decision !== "reject") return "field decision: must be 'approve' or 'reject'";
  if ((form.reason ?? "").length > 2000) return "field reason: at most 2000 characters";
  if (form.incident !== undefined && !/^[A-Za-z0-9._:-]{1,200}$/.test(form.incident)) return "field incident: not an incident id";
  return undefined;
}

/** Only a console path: a sign-in link cannot send the person anywhere else. */
function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[A-Za-z0-9._~%:@!$&'()*+,;=/?-]*)?$/.test(next) && !next.startsWith("//") && !next.includes("/ui//") ? next : "/ui";
}

const HEADINGS: Record<number, string> = { 400: "Bad request", 401: "Sign in first", 404: "Not found", 409: "Cannot do that now" };

function facts(request: FastifyRequest): RequestFacts {
  return { remoteAddress: request.socket.remoteAddress, host: request.headers.host, origin: request.headers.origin, protocol: request.protocol };
}
