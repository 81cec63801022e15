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
  /**
   * Set on pages that follow the platform live: they refresh their content on every status event.
   * `rollout`: also on every change of the release's rollout (members' render reports, outside the log).
   */
  readonly live?: true | 'rollout'
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
${ctx.principal ? html`<nav aria-label="Main"><a href="/">Overview</a> <a href="/settings">Settings</a> <a href="/members">Members</a> <a href="/services">Services</a> <a href="/dns">DNS</a> <a href="/users">Platform users</a> <a href="/releases">Releases</a> <a href="/audit">Audit</a> <a href="/password">Password</a></nav>
<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><span>${ctx.principal.actor} (${ctx.principal.role})</span> <button type="submit">Log out</button></form>` : ''}
</header>
<main${ctx.live === 'rollout' ? ' data-live="rollout"' : ctx.live ? ' data-live' : ''}>
<h1>${title}</h1>
${body}
</main>
<script src="/assets/app.js" defer></script>
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
.change { display: grid; grid-template-columns: max-content 1fr; gap: .4rem .8rem; max-width: 40rem; margin-bottom: 1rem; }
section, table { margin-bottom: 1rem; }
.error { color: #8a1010; font-weight: bold; }
.ok { color: #0a5a1a; }
tr.wave-failed { background: #fdeaea; }
tr.wave-passed { background: #eaf6ec; }
button { padding: .4rem .9rem; }
form.inline { display: inline; }
textarea { font-family: monospace; width: 100%; max-width: 60rem; }
.log { background: #111; color: #eee; padding: .5rem; min-height: 20rem; max-height: 70vh; overflow: auto; white-space: pre-wrap; }
:focus-visible { outline: 3px solid #e0a000; outline-offset: 2px; }
`

interface SchemaSetting {
  readonly key: string
  readonly description?: string
  readonly type: { readonly type: string }
  readonly secret: boolean
  readonly default?: unknown
}

export interface SettingsView {
  readonly groups: readonly { readonly title: string, readonly settings: readonly SchemaSetting[] }[]
  readonly platform: Readonly<Record<string, unknown>>
  /** node name → its overrides */
  readonly machines: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly canChange: boolean
  readonly form?: { readonly key: string, readonly value: string, readonly target: string, readonly message: string }
  readonly outcome?: { readonly error?: { readonly code: string, readonly message: string, readonly hint?: string }, readonly dryRun?: DryRun, readonly applied?: number }
  readonly history: readonly { readonly revision: number, readonly at: string, readonly author: string, readonly actor?: string, readonly target: string, readonly message: string, readonly diff: readonly { readonly key: string }[] }[]
  /** One key explained layer by layer (`config get KEY --explain`), for the node asked about. */
  readonly explain?: SettingsExplain
  /** The changes of one layer between two revisions (`config diff`). */
  readonly diff?: SettingsDiff
}

export interface SettingsExplain {
  readonly node: string
  readonly explanation: { readonly key: string, readonly winner: string, readonly value: unknown, readonly layers: readonly { readonly layer: string, readonly set: boolean, readonly allowed: boolean, readonly value?: unknown }[] }
}

export interface SettingsDiff {
  readonly target: string
  readonly from: number
  readonly to: number
  readonly diff: readonly { readonly key: string, readonly from: unknown, readonly to: unknown }[]
}

/** The machine a settings history row's target names ("machine core2"), or undefined for the platform. */
export function historyMachine(target: string): string | undefined {
  return target.startsWith('machine ') ? target.slice('machine '.length) : undefined
}

function explainSection(e: SettingsExplain): Html {
  const x = e.explanation
  return html`<section aria-labelledby="explained"><h2 id="explained">${x.key} on ${e.node}: ${x.winner === 'unset' ? 'not set' : html`${shown(x.value)} (from the ${x.winner} layer)`}</h2>
<table><thead><tr><th scope="col">Layer, lowest first</th><th scope="col">Value</th><th scope="col">Note</th></tr></thead>
<tbody>${x.layers.map((l) => html`<tr><td>${l.layer}</td><td>${l.set ? shown(l.value) : '–'}</td><td>${!l.set ? 'not set' : !l.allowed ? 'ignored: not allowed in this layer' : l.layer === x.winner ? 'wins' : 'overridden'}</td></tr>`)}</tbody></table></section>`
}

function diffSection(d: SettingsDiff): Html {
  return html`<section aria-labelledby="compared"><h2 id="compared">${d.target}: revision ${d.from} → ${d.to}</h2>
${d.diff.length === 0 ? html`<p>No difference.</p>` : html`<table><thead><tr><th scope="col">Key</th><th scope="col">At ${d.from}</th><th scope="col">At ${d.to}</th></tr></thead>
<tbody>${d.diff.map((c) => html`<tr><td><code>${c.key}</code></td><td>${c.from === undefined ? '(not set)' : shown(c.from)}</td><td>${c.to === undefined ? '(not set)' : shown(c.to)}</td></tr>`)}</tbody></table>`}</section>`
}

export interface DryRun {
  readonly nodes: readonly { readonly node: string, readonly files: readonly string[], readonly restart: readonly string[], readonly problems: readonly unknown[] }[]
}

const shown = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v))

export function settingsPage(ctx: PageContext, view: SettingsView): Html {
  const machines = Object.keys(view.machines).sort()
  const outcome = view.outcome
  const keys = view.groups.flatMap((g) => g.settings.map((s) => s.key))
  return layout('Settings', ctx, html`${outcome?.error ? html`<p class="error" role="alert">${outcome.error.code}: ${outcome.error.message}${outcome.error.hint ? html`<br>${outcome.error.hint}` : ''}</p>` : ''}
${outcome?.applied !== undefined ? html`<p class="ok" role="status">Applied as revision ${outcome.applied}.</p>` : ''}
${outcome?.dryRun ? html`<section aria-labelledby="dry"><h2 id="dry">Dry run: nothing changed yet</h2><table><thead><tr><th scope="col">Node</th><th scope="col">Files rendered</th><th scope="col">Services restarted</th><th scope="col">Problems</th></tr></thead><tbody>
${outcome.dryRun.nodes.map((n) => html`<tr><td>${n.node}</td><td>${n.files.join(', ') || 'none'}</td><td>${n.restart.join(', ') || 'none'}</td><td>${n.problems.length === 0 ? 'none' : JSON.stringify(n.problems)}</td></tr>`)}
</tbody></table></section>` : ''}
${view.canChange ? html`<form method="post" action="/settings" class="change">
<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
<label for="key">Setting</label><select id="key" name="key">${keys.map((k) => html`<option${k === view.form?.key ? ' selected' : ''}>${k}</option>`)}</select>
<label for="value">Value</label><input id="value" name="value" value="${view.form?.value ?? ''}">
<label for="target">Where</label><select id="target" name="target"><option value="">platform</option>${machines.map((m) => html`<option value="${m}"${m === view.form?.target ? ' selected' : ''}>machine ${m}</option>`)}</select>
<label for="message">Message</label><input id="message" name="message" value="${view.form?.message ?? ''}">
<span class="buttons"><button type="submit" name="action" value="dry-run">Dry run</button> <button type="submit" name="action" value="apply">Apply</button></span>
</form>` : ''}
<form method="get" action="/settings" class="change">
<label for="explain">Explain</label><select id="explain" name="explain">${keys.map((k) => html`<option${k === view.explain?.explanation.key ? ' selected' : ''}>${k}</option>`)}</select>
<label for="explain-on">On node</label><select id="explain-on" name="on">${machines.map((m) => html`<option${m === view.explain?.node ? ' selected' : ''}>${m}</option>`)}</select>
<span class="buttons"><button type="submit">Explain</button></span>
</form>
${view.explain ? explainSection(view.explain) : ''}
<form method="get" action="/settings" class="change">
<label for="from">From revision</label><input id="from" name="from" type="number" min="0" required value="${view.diff?.from ?? ''}">
<label for="to">To revision</label><input id="to" name="to" type="number" min="0" value="${view.diff?.to ?? ''}">
<label for="diff-layer">Layer</label><select id="diff-layer" name="layer"><option value="">platform</option>${machines.map((m) => html`<option value="${m}"${`machine ${m}` === view.diff?.target ? ' selected' : ''}>machine ${m}</option>`)}</select>
<span class="buttons"><button type="submit">Compare</button></span>
</form>
${view.diff ? diffSection(view.diff) : ''}
${view.groups.map((g) => html`<table>
<caption>${g.title}</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Platform value</th>${machines.map((m) => html`<th scope="col">${m}</th>`)}<th scope="col">Default</th><th scope="col">Help</th></tr></thead>
<tbody>${g.settings.map((s) => html`<tr><td><code>${s.key}</code></td><td>${shown(view.platform[s.key])}</td>${machines.map((m) => html`<td>${shown(view.machines[m]?.[s.key])}</td>`)}<td>${s.secret ? '(secret)' : shown(s.default)}</td><td>${s.description ?? ''}</td></tr>`)}</tbody>
</table>`)}
<table>
<caption>History</caption>
<thead><tr><th scope="col">Revision</th><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Target</th><th scope="col">Message</th><th scope="col">Changed</th>${view.canChange ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${[...view.history].reverse().map((h) => html`<tr><td>${h.revision}</td><td>${h.at}</td><td>${h.actor && h.actor !== 'local' ? `${h.actor}@${h.author}` : h.author}</td><td>${h.target}</td><td>${h.message}</td><td>${h.diff.map((d) => d.key).join(', ')}</td>${view.canChange ? html`<td>${h.target === 'platform' || historyMachine(h.target) ? rollbackForm(ctx, h.revision, historyMachine(h.target)) : ''}</td>` : ''}</tr>`)}</tbody>
</table>`)
}

/** Restores a layer as it was at `revision` (`config rollback`): the platform's, or one machine's. */
function rollbackForm(ctx: PageContext, revision: number, machine: string | undefined): Html {
  return html`<form method="post" action="/settings" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><input type="hidden" name="action" value="rollback"><input type="hidden" name="revision" value="${revision}"><input type="hidden" name="target" value="${machine ?? ''}"><button type="submit">Roll back ${machine ? `${machine}'s overrides` : 'the platform'} to revision ${revision}</button></form>`
}

export interface MembersView {
  readonly members: readonly (StatusMember & { readonly weight: unknown })[]
  readonly invites: readonly { readonly id: string, readonly role: string, readonly expiresAt: string, readonly uses: number, readonly used: number, readonly status: string, readonly createdBy: string }[]
  readonly canOperate: boolean
  readonly canOwn: boolean
  readonly created?: { readonly invite: string, readonly id: string, readonly expiresAt: string }
  readonly outcome?: { readonly error?: { readonly code: string, readonly message: string, readonly hint?: string }, readonly done?: string }
}

export function membersPage(ctx: PageContext, view: MembersView): Html {
  const csrf = html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">`
  const action = (what: string, name: string, label: string) => html`<form method="post" action="/members" class="inline">${csrf}<input type="hidden" name="action" value="${what}"><input type="hidden" name="name" value="${name}"><button type="submit">${label}</button></form>`
  const drained = (w: unknown) => w === 0
  return layout('Members and invites', ctx, html`${view.outcome?.error ? html`<p class="error" role="alert">${view.outcome.error.code}: ${view.outcome.error.message}${view.outcome.error.hint ? html`<br>${view.outcome.error.hint}` : ''}</p>` : ''}
${view.outcome?.done ? html`<p class="ok" role="status">${view.outcome.done}</p>` : ''}
${view.created ? html`<section aria-labelledby="new-invite"><h2 id="new-invite">New invite ${view.created.id}</h2>
<p>Valid until ${view.created.expiresAt}. Shown once: on the new machine run <code>pryv-node join-platform '&lt;invite&gt;' --name &lt;its-name&gt;</code>.</p>
<label for="invite-text">Invite</label>
<textarea id="invite-text" readonly rows="4" cols="80">${view.created.invite}</textarea>
<button type="button" class="copy" data-copy="invite-text">Copy</button></section>` : ''}
<table>
<caption>Members</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Writer</th><th scope="col">Liveness</th><th scope="col">Applied revision</th><th scope="col">DNS weight</th><th scope="col">Actions</th></tr></thead>
<tbody>${view.members.map((m) => html`<tr><td>${m.name}</td><td>${m.role}</td><td>${m.writer ? 'yes' : 'no'}</td><td>${m.alive ? 'up' : 'down'}</td><td>${m.revision ?? '–'}</td><td>${drained(m.weight) ? '0 (drained)' : String(m.weight ?? 1)}</td><td>
${view.canOperate ? (drained(m.weight) ? action('undrain', m.name, `Restore ${m.name}`) : action('drain', m.name, `Drain ${m.name}`)) : ''}
${view.canOwn ? html`${m.role === 'full' ? action('demote', m.name, `Demote ${m.name}`) : action('promote', m.name, `Promote ${m.name}`)} ${m.self ? '' : action('remove', m.name, `Remove ${m.name}`)}` : ''}
</td></tr>`)}</tbody>
</table>
${view.canOperate ? html`<form method="post" action="/members" class="change">${csrf}<input type="hidden" name="action" value="invite">
<label for="role">New member's role</label><select id="role" name="role"><option value="full">full</option><option value="observer">observer</option></select>
<label for="ttl">Valid for (hours)</label><input id="ttl" name="ttlHours" type="number" min="1" max="720" value="1">
<label for="uses">Uses</label><input id="uses" name="uses" type="number" min="1" max="1000" value="1">
<span class="buttons"><button type="submit">Create invite</button></span></form>` : ''}
<table>
<caption>Invites</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
<tbody>${view.invites.map((i) => html`<tr><td>${i.id}</td><td>${i.role}</td><td>${i.status}</td><td>${i.used}/${i.uses}</td><td>${i.expiresAt}</td><td>${view.canOperate && i.status === 'active' ? html`<form method="post" action="/members" class="inline">${csrf}<input type="hidden" name="action" value="revoke"><input type="hidden" name="id" value="${i.id}"><button type="submit">Revoke ${i.id}</button></form>` : ''}</td></tr>`)}</tbody>
</table>`)
}

/**
 * The app's only script (CSP allows scripts from 'self' only, none inline): copy buttons, and live
 * pages that replace their content with a fresh render on every status event.
 */
export const APP_JS = `
const live = document.querySelector('main[data-live]')
if (live) {
  const events = new EventSource('/api/v1/events' + (live.dataset.live ? '?watch=' + encodeURIComponent(live.dataset.live) : ''))
  let first = true
  const refresh = async () => {
    const res = await fetch(location.href, { headers: { accept: 'text/html' } })
    if (!res.ok) return
    const next = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('main')
    if (!next) return
    live.replaceChildren(...next.childNodes)
  }
  events.addEventListener('status', () => {
    if (first) { first = false; return }
    refresh()
  })
}
const log = document.querySelector('pre[data-follow-service]')
if (log) {
  // A POST with the session's CSRF token, read as a stream of server-sent events.
  fetch('/api/v1/ops/services.logs', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': log.dataset.csrf },
    body: JSON.stringify({ service: log.dataset.followService, node: log.dataset.followNode, follow: true, tail: 100 })
  }).then(async (res) => {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      const events = buffer.split('\\n\\n')
      buffer = events.pop()
      for (const event of events) {
        const data = event.split('\\n').find((l) => l.startsWith('data: '))
        if (!event.startsWith('event: item') || !data) continue
        const line = JSON.parse(data.slice(6))
        log.append(document.createTextNode(line.time + ' ' + line.text + '\\n'))
      }
    }
  })
}
// Release upload (releases page): the file as the raw body, with the session's CSRF token; the
// dry-run or apply events are written out as text. Delegated: a live refresh replaces the form.
document.addEventListener('submit', async (event) => {
  const upload = event.target.closest('form[data-upload]')
  if (!upload) return
  {
    event.preventDefault()
    const out = document.getElementById('upload-log')
    const file = upload.querySelector('input[type=file]').files[0]
    const dryRun = event.submitter?.value !== 'apply'
    const message = upload.querySelector('input[name=message]').value
    out.hidden = false
    out.textContent = (dryRun ? 'Dry run of ' : 'Applying ') + file.name + '…\\n'
    const query = new URLSearchParams(dryRun ? { dryRun: 'true' } : message ? { message } : {})
    const res = await fetch('/api/v1/releases/upload?' + query, { method: 'POST', headers: { 'content-type': 'application/gzip', 'x-csrf-token': upload.dataset.csrf }, body: file })
    const text = await res.text()
    if (!res.ok) {
      const error = JSON.parse(text).error
      out.append(document.createTextNode('Refused: ' + error.code + ': ' + error.message + '\\n'))
      return
    }
    for (const chunk of text.split('\\n\\n')) {
      const kind = chunk.split('\\n')[0].slice(7)
      const data = chunk.split('\\n').find((l) => l.startsWith('data: '))
      if (!data || kind === 'end') continue
      const item = JSON.parse(data.slice(6))
      const line = kind === 'error' ? 'Refused: ' + item.code + ': ' + item.message
        : item.event === 'result' ? (item.dryRun ? 'Dry run, nothing changed: ' : 'Applied as revision ' + item.revision + ': ') + (item.from ? item.from.version : 'none') + ' → ' + item.to.version
          + (item.migration?.length ? '\\nMigration: ' + item.migration.join('; ') : '')
          + (item.nodes ?? []).map((n) => '\\n' + JSON.stringify(n)).join('')
        : JSON.stringify(item)
      out.append(document.createTextNode(line + '\\n'))
    }
  }
})
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-copy]')
  if (!button) return
  const source = document.getElementById(button.dataset.copy)
  navigator.clipboard.writeText(source.value).then(() => { button.textContent = 'Copied' }, () => { source.select() })
})
`

export interface ServicesView {
  readonly nodes: readonly { readonly node: string, readonly error?: string, readonly services?: readonly { readonly name: string, readonly state: string, readonly health: string, readonly uptimeMs: number | null, readonly restartCount: number }[] }[]
  readonly canOperate: boolean
  readonly outcome?: { readonly error?: { readonly code: string, readonly message: string, readonly hint?: string }, readonly done?: string }
}

const uptime = (ms: number | null): string => (ms === null ? '–' : ms < 60_000 ? `${Math.round(ms / 1000)}s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)}m` : `${(ms / 3_600_000).toFixed(1)}h`)

export function servicesPage(ctx: PageContext, view: ServicesView): Html {
  return layout('Services', ctx, html`${view.outcome?.error ? html`<p class="error" role="alert">${view.outcome.error.code}: ${view.outcome.error.message}</p>` : ''}
${view.outcome?.done ? html`<p class="ok" role="status">${view.outcome.done}</p>` : ''}
<table>
<caption>Services of every member</caption>
<thead><tr><th scope="col">Node</th><th scope="col">Service</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Uptime</th><th scope="col">Restarts</th><th scope="col">Actions</th></tr></thead>
<tbody>${view.nodes.flatMap((n) => (n.services ?? []).map((s) => html`<tr><td>${n.node}</td><td>${s.name}</td><td>${s.state}</td><td>${s.health}</td><td>${uptime(s.uptimeMs)}</td><td>${s.restartCount}</td><td>
<a href="/services/logs?node=${encodeURIComponent(n.node)}&amp;service=${encodeURIComponent(s.name)}">Logs of ${s.name} on ${n.node}</a>
${view.canOperate ? html`<form method="post" action="/services" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><input type="hidden" name="node" value="${n.node}"><input type="hidden" name="service" value="${s.name}"><button type="submit">Restart ${s.name} on ${n.node}</button></form>` : ''}
</td></tr>`))}</tbody>
</table>
${view.nodes.filter((n) => n.error).map((n) => html`<p class="error">${n.node}: ${n.error}</p>`)}`)
}

export function logsPage(ctx: PageContext, node: string, service: string): Html {
  return layout(`Logs of ${service} on ${node}`, ctx, html`<p>Followed live; the last 100 lines first.</p>
<pre id="log" class="log" tabindex="0" aria-live="polite" data-follow-service="${service}" data-follow-node="${node}" data-csrf="${ctx.csrf ?? ''}"></pre>`)
}
