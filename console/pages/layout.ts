import { html, type Html } from "../html.ts";
import type { Viewer } from "../access.ts";

/** The page around every view; `main` is what live updates replace, every `pollMs` (0: never, for a form or a refusal). */
export function page(title: string, viewer: Viewer, main: Html, pollMs: number): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — mlwatch</title>
<link rel="stylesheet" href="/ui/assets/uPlot.min.css">
<link rel="stylesheet" href="/ui/assets/console.css">
<script src="/ui/assets/uPlot.iife.min.js" defer></script>
<script src="/ui/assets/console.js" defer></script>
</head>
<body data-poll-ms="${pollMs}">
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Console">
<a href="/ui">Models</a>
<a href="/ui/incidents">Incidents</a>
</nav>
<div class="who">${who(viewer)}</div>
</header>
<main id="main" tabindex="-1">${main}</main>
</body>
</html>`;
}

function who(v: Viewer): Html {
  if (v.session) {
    return html`Signed in as <strong>${v.session.person}</strong> (approver)
<form method="post" action="/ui/signout" class="inline"><input type="hidden" name="csrf" value="${v.session.csrf}"><button type="submit">Sign out</button></form>`;
  }
  return v.canSignIn ? html`Read-only · <a href="/ui/signin">Sign in as approver</a>` : html`Read-only (no approver token is configured)`;
}

/** A main part for a 4xx: what was asked and why it cannot be shown. */
export function problem(heading: string, detail: string): Html {
  return html`<h1>${heading}</h1><p role="alert">${detail}</p>`;
}
