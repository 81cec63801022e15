import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { Principal } from './accounts.js'

/**
 * The admin app's pages, rendered on the server. Every interpolated value goes through hono's
 * `html` tag, which escapes it: user-written values (member names, settings, usernames) are shown
 * as text. No inline script or style: the CSP allows only 'self'.
 */
type Html = HtmlEscapedString | Promise<HtmlEscapedString>

export interface PageContext {
  readonly principal?: Principal
  readonly csrf?: string
  readonly node: string
}

export function layout(title: string, ctx: PageContext, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · pryv-node</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header>
<a class="brand" href="/">pryv-node</a>
<span class="node">node ${ctx.node}</span>
${ctx.principal ? html`<nav aria-label="Main"><a href="/">Overview</a> <a href="/audit">Audit</a> <a href="/password">Password</a></nav>
<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><span>${ctx.principal.actor} (${ctx.principal.role})</span> <button type="submit">Log out</button></form>` : ''}
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`
}

export function loginPage(ctx: PageContext, opts: { error?: string, link?: string }): Html {
  const error = opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''
  if (opts.link !== undefined) {
    return layout('Log in', ctx, html`${error}
<p>This one-time link logs you in once; you then choose a password.</p>
<form method="post" action="/login/link"><input type="hidden" name="link" value="${opts.link}"><button type="submit">Log in with this link</button></form>`)
  }
  return layout('Log in', ctx, html`${error}
<form method="post" action="/login" class="stack">
<label for="name">Account</label><input id="name" name="name" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
<p class="help">No account yet? On a member, run <code>pryv-node admin login-link</code>.</p>`)
}

export function passwordPage(ctx: PageContext, opts: { error?: string, mustSet: boolean, done?: boolean }): Html {
  return layout(opts.mustSet ? 'Choose a password' : 'Change your password', ctx, html`${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
${opts.done ? html`<p class="ok" role="status">Password changed; your other sessions have ended.</p>` : ''}
<form method="post" action="/password" class="stack">
<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
${opts.mustSet ? '' : html`<label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required>`}
<label for="password">New password (12 characters or more)</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">Save</button>
</form>`)
}

interface StatusMember {
  readonly name: string
  readonly role: string
  readonly writer: boolean
  readonly alive: boolean
  readonly revision: number | null
  readonly self: boolean
}

interface Status {
  readonly platform: { readonly domain: string }
  readonly revision: number
  readonly appliedOn: { readonly count: number, readonly of: number }
  readonly members: readonly StatusMember[]
  readonly writerSet: { readonly role?: string, readonly leader?: string } | null
}

export function overviewPage(ctx: PageContext, status: Status): Html {
  const down = status.members.filter((m) => !m.alive)
  return layout('Overview', ctx, html`<p class="summary">Platform <strong>${status.platform.domain}</strong>: rev ${status.revision} on ${status.appliedOn.count}/${status.appliedOn.of}</p>
${down.length > 0 ? html`<p class="error" role="alert">Down: ${down.map((m) => m.name).join(', ')}</p>` : ''}
<table>
<caption>Members</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Writer</th><th scope="col">Liveness</th><th scope="col">Applied revision</th></tr></thead>
<tbody>
${status.members.map((m) => html`<tr><td>${m.name}${m.self ? ' (this node)' : ''}</td><td>${m.role}</td><td>${m.writer ? 'yes' : 'no'}</td><td>${m.alive ? 'up' : 'down'}</td><td>${m.revision ?? '–'}</td></tr>`)}
</tbody>
</table>`)
}

interface AuditRow {
  readonly revision: number
  readonly at: string
  readonly kind: string
  readonly actor: string
  readonly node: string
  readonly summary: string
}

export function auditPage(ctx: PageContext, rows: readonly AuditRow[]): Html {
  return layout('Audit', ctx, html`<table>
<caption>Changes, newest first</caption>
<thead><tr><th scope="col">Revision</th><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Node</th><th scope="col">Change</th></tr></thead>
<tbody>
${[...rows].reverse().map((r) => html`<tr><td>${r.revision}</td><td>${r.at}</td><td>${r.actor}</td><td>${r.node}</td><td>${r.kind}: ${r.summary}</td></tr>`)}
</tbody>
</table>`)
}

export const APP_CSS = `
:root { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fafafa; }
body { margin: 0; }
header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: #12355b; color: #fff; flex-wrap: wrap; }
header a { color: #fff; }
header .brand { font-weight: bold; text-decoration: none; }
header nav { display: flex; gap: .75rem; }
header .logout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
main { padding: 1rem; max-width: 70rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
caption { text-align: left; font-weight: bold; padding: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; }
.stack { display: grid; gap: .4rem; max-width: 24rem; }
.error { color: #8a1010; font-weight: bold; }
.ok { color: #0a5a1a; }
button { padding: .4rem .9rem; }
:focus-visible { outline: 3px solid #e0a000; outline-offset: 2px; }
`
