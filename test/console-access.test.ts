import { describe, expect, it } from "vitest";
import { changeRefusal, readAccess, signInRefusal, type RequestFacts } from "../console/access.ts";
import { html, jsonBlock } from "../console/html.ts";
import { Sessions } from "../console/sessions.ts";

// Who may read, sign in and decide in the console, as pure rules; the browser test drives the same rules end to end.

const approver = "approver-token-0123456789";
const agent = "agent-token-0123456789abc";
const local: RequestFacts = { remoteAddress: "127.0.0.1", host: "127.0.0.1:8080", origin: undefined, protocol: "http" };
const remote: RequestFacts = { remoteAddress: "10.1.2.3", host: "mlwatch.internal:8080", origin: undefined, protocol: "http" };

describe("console access", () => {
  it("without an approver token: read-only, loopback only, and a rebinding Host is refused", () => {
    const none = { approverToken: undefined, agentToken: agent };
    expect(readAccess(local, undefined, none)).toEqual({ session: undefined, canSignIn: false });
    expect(readAccess(remote, undefined, none)).toMatchObject({ status: 403, reason: expect.stringMatching(/read-only and serves loopback clients only/) });
    expect(readAccess({ ...local, host: "evil.example:8080" }, undefined, none)).toMatchObject({ status: 403 });
    expect(signInRefusal(approver, none)).toMatchObject({ status: 403 });
  });

  it("with one: a remote reader signs in first; only the approver token signs in, the agent's is refused by name", () => {
    const tokens = { approverToken: approver, agentToken: agent };
    expect(readAccess(remote, undefined, tokens)).toBe("signin");
    expect(signInRefusal(approver, tokens)).toBeUndefined();
    expect(signInRefusal(agent, tokens)?.reason).toMatch(/agent's token .* can never approve/);
    expect(signInRefusal("guess", tokens)?.reason).toMatch(/wrong token/);
  });

  it("a change needs this origin, a session and its CSRF token", () => {
    const session = new Sessions(60_000).open("dana");
    expect(changeRefusal(local, undefined, session.csrf)).toMatchObject({ status: 401 });
    expect(changeRefusal(local, session, undefined)).toMatchObject({ status: 403 });
    expect(changeRefusal(local, session, `${session.csrf}x`)).toMatchObject({ status: 403 });
    expect(changeRefusal({ ...local, origin: "http://127.0.0.1:9999" }, session, session.csrf)).toMatchObject({ status: 403 });
    expect(changeRefusal({ ...local, origin: "http://127.0.0.1:8080" }, session, session.csrf)).toBeUndefined();
  });

  it("a session ends at its time", () => {
    let now = 0;
    const sessions = new Sessions(1000, () => now);
    const s = sessions.open("dana");
    expect(sessions.find(s.id)).toBe(s);
    now = 1000;
    expect(sessions.find(s.id)).toBeUndefined();
  });
});

describe("escaping", () => {
  it("every interpolated value is text; a JSON block cannot close its script element", () => {
    const name = `<img src=x onerror=alert(1)>"'&`;
    expect(html`<td title="${name}">${name}</td>`.text).toBe("<td title=\"&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;\">&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;</td>");
    expect(html`<p>${html`<b>${name}</b>`}</p>`.text).toBe("<p><b>&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;</b></p>");
    expect(jsonBlock("d", { f: "</script><script>alert(1)</script>" }).text).not.toContain("</script><script>");
  });
});
