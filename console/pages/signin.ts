import { html, type Html } from "../html.ts";

/** The approver token is typed here once; it travels in the POST body, never in a URL, and is not kept. */
export function signInView(next: string, error?: string): Html {
  return html`<h1>Sign in as approver</h1>
${error ? html`<p role="alert" class="error">${error}</p>` : ""}
<form method="post" action="/ui/signin" class="signin">
<input type="hidden" name="next" value="${next}">
<label for="person">Your name (recorded with every decision)</label>
<input id="person" name="person" required maxlength="200" autocomplete="name">
<label for="token">Approver token (MLWATCH_APPROVER_TOKEN)</label>
<input id="token" name="token" type="password" required autocomplete="off">
<button type="submit">Sign in</button>
</form>`;
}
