import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { layout, type PageContext } from './pages.js'
import type { Wave } from './rollout.js'
import { compareText } from '../text-order.js'

/**
 * The DNS and releases pages of the admin app. Like pages.ts: every interpolated value goes through
 * hono's `html` tag (escaped), no inline script or style.
 */
type Html = HtmlEscapedString | Promise<HtmlEscapedString>

interface Outcome {
  readonly error?: { readonly code: string, readonly message: string, readonly hint?: string }
  readonly done?: string
}

/** How many users the DNS page lists at once; a lookup finds any. */
export const USERS_LISTED = 200

function outcomeLines(outcome: Outcome | undefined): Html {
  return html`${outcome?.error ? html`<p class="error" role="alert">${outcome.error.code}: ${outcome.error.message}${outcome.error.hint ? html`<br>${outcome.error.hint}` : ''}</p>` : ''}
${outcome?.done ? html`<p class="ok" role="status">${outcome.done}</p>` : ''}`
}

const csrfField = (ctx: PageContext) => html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">`

export interface DnsView {
  /** Every user and its core, in name order (at most USERS_LISTED shown). */
  readonly users: readonly (readonly [string, string])[]
  readonly cores: readonly string[]
  readonly lookup?: { readonly user: string, readonly core?: string }
  /** This node's answer counters (`dns.counters`); null when it serves no DNS. */
  readonly counters: DnsCounters | null
  readonly canOperate: boolean
  readonly outcome?: Outcome
}

interface DnsCounters {
  readonly queriesByType: Readonly<Record<string, number>>
  readonly responsesByRcode: Readonly<Record<string, number>>
  readonly weightedAnswers: Readonly<Record<string, Readonly<Record<string, number>>>>
}

export function dnsPage(ctx: PageContext, view: DnsView): Html {
  const shownUsers = view.users.slice(0, USERS_LISTED)
  return layout('DNS', ctx, html`${outcomeLines(view.outcome)}
<p>Static records and service weights are settings: change them on the <a href="/settings">settings page</a> (keys <code>dns.*</code>); drain a node from the <a href="/members">members page</a>.</p>
<form method="get" action="/dns" class="change">
<label for="lookup">Look up user</label><input id="lookup" name="user" required value="${view.lookup?.user ?? ''}">
<span class="buttons"><button type="submit">Look up</button></span>
</form>
${view.lookup ? html`<p role="status" class="lookup">${view.lookup.core === undefined ? html`${view.lookup.user} is not a DNS user.` : html`${view.lookup.user} is served by ${view.lookup.core}.`}</p>` : ''}
${view.canOperate ? html`<form method="post" action="/dns" class="change">${csrfField(ctx)}<input type="hidden" name="action" value="set">
<label for="user">User</label><input id="user" name="user" required>
<label for="core">Core</label><select id="core" name="core">${view.cores.map((n) => html`<option>${n}</option>`)}</select>
<span class="buttons"><button type="submit">Set user</button></span></form>` : ''}
<table>
<caption>Users (${view.users.length}${view.users.length > shownUsers.length ? `, the first ${shownUsers.length} shown` : ''})</caption>
<thead><tr><th scope="col">User</th><th scope="col">Core</th>${view.canOperate ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${shownUsers.map(([user, core]) => html`<tr><td>${user}</td><td>${core}</td>${view.canOperate ? html`<td><form method="post" action="/dns" class="inline">${csrfField(ctx)}<input type="hidden" name="action" value="remove"><input type="hidden" name="user" value="${user}"><button type="submit">Remove ${user}</button></form></td>` : ''}</tr>`)}</tbody>
</table>
${countersSection(ctx.node, view.counters)}`)
}

function countersSection(node: string, counters: DnsCounters | null): Html {
  if (!counters) return html`<p>This node (${node}) serves no DNS: its answer counters are on the nodes started with <code>--dns</code>.</p>`
  const row = (record: Readonly<Record<string, number>>) => Object.entries(record).sort(([a], [b]) => compareText(a, b))
  const weighted = Object.entries(counters.weightedAnswers).sort(([a], [b]) => compareText(a, b))
  return html`<table>
<caption>Answers of ${node} since it started</caption>
<thead><tr><th scope="col">Counter</th><th scope="col">Count</th></tr></thead>
<tbody>${row(counters.queriesByType).map(([t, n]) => html`<tr><td>queries ${t}</td><td>${n}</td></tr>`)}${row(counters.responsesByRcode).map(([r, n]) => html`<tr><td>responses ${r}</td><td>${n}</td></tr>`)}</tbody>
</table>
${weighted.length > 0 ? html`<table>
<caption>Answer share of weighted names on ${node}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Target</th><th scope="col">Answers</th><th scope="col">Share</th></tr></thead>
<tbody>${weighted.flatMap(([name, targets]) => {
    const total = Object.values(targets).reduce((a, b) => a + b, 0)
    return row(targets).map(([target, n]) => html`<tr><td>${name}</td><td>${target}</td><td>${n}</td><td>${total === 0 ? '–' : `${Math.round((100 * n) / total)}%`}</td></tr>`)
  })}</tbody>
</table>` : ''}`
}

interface ReleaseEntry {
  readonly revision: number
  readonly at: string
  readonly kind: string
  readonly name: string
  readonly version: string
  readonly from: string | null
  readonly author: string
  readonly message?: string
  readonly automatic: boolean
}

export interface ReleasesView {
  /** `release.status` */
  readonly status: {
    readonly current: ReleaseEntry | null
    readonly history: readonly ReleaseEntry[]
    readonly nodes: readonly { readonly node: string, readonly state: string, readonly release?: string, readonly detail?: string }[]
    readonly complete: boolean
  }
  /** The rollout of the release in force, wave by wave (and the one a rollback stopped), newest first. */
  readonly rollouts: readonly ReleaseRollout[]
  readonly canOwn: boolean
  readonly outcome?: Outcome
}

export interface ReleaseRollout {
  readonly revision: number
  readonly kind: 'apply' | 'rollback'
  readonly version: string
  readonly automatic: boolean
  readonly waves: readonly Wave[]
}

function rolloutTable(r: ReleaseRollout): Html {
  const what = r.kind === 'rollback' ? `${r.automatic ? 'Automatic rollback' : 'Rollback'} to ${r.version}` : `Rollout of ${r.version}`
  return html`<table class="waves">
<caption>${what} (revision ${r.revision}), wave by wave</caption>
<thead><tr><th scope="col">Wave</th><th scope="col">Members</th><th scope="col">State</th><th scope="col">Health gate</th></tr></thead>
<tbody>${r.waves.map((w) => html`<tr class="wave-${w.state.replace(' ', '-')}"><td>${w.label}</td><td>${w.members.map((m, i) => html`${i > 0 ? ', ' : ''}${m.node} ${m.state}`)}</td><td>${w.state}</td><td>${w.gate}</td></tr>`)}</tbody>
</table>`
}

export function releasesPage(ctx: PageContext, view: ReleasesView): Html {
  const s = view.status
  const current = s.current
  return layout('Releases', ctx, html`${outcomeLines(view.outcome)}
${current ? html`<p class="summary">In force: <strong>${current.name} ${current.version}</strong> since revision ${current.revision} (${current.kind === 'rollback' ? `rolled back${current.automatic ? ' automatically' : ''}` : 'applied'} by ${current.author}). ${s.complete ? 'Every member runs it.' : 'Rolling out.'}</p>` : html`<p class="summary">No release applied yet.</p>`}
<table>
<caption>Progress on every member</caption>
<thead><tr><th scope="col">Node</th><th scope="col">State</th><th scope="col">Release it runs</th><th scope="col">Detail</th></tr></thead>
<tbody>${s.nodes.map((n) => html`<tr><td>${n.node}</td><td>${n.state}</td><td>${n.release ?? '–'}</td><td>${n.detail ?? ''}</td></tr>`)}</tbody>
</table>
${view.rollouts.map(rolloutTable)}
${view.canOwn && current ? html`<form method="post" action="/releases" class="inline">${csrfField(ctx)}<input type="hidden" name="action" value="rollback"><button type="submit">Roll back to the previous release</button></form>` : ''}
${view.canOwn ? html`<form method="post" action="/api/v1/releases/upload" enctype="application/octet-stream" class="change" data-upload data-csrf="${ctx.csrf ?? ''}">
<label for="bundle">Release bundle (.tgz)</label><input id="bundle" name="bundle" type="file" accept=".tgz,.tar.gz,application/gzip" required>
<label for="release-message">Message</label><input id="release-message" name="message">
<span class="buttons"><button type="submit" name="mode" value="dry-run">Dry run the bundle</button> <button type="submit" name="mode" value="apply">Apply the bundle</button></span>
</form>
<pre id="upload-log" class="log upload" tabindex="0" aria-label="Upload progress" aria-live="polite" hidden></pre>` : ''}
<p class="help">Or from a member: <code>pryv-node release apply BUNDLE --dry-run</code>, then without <code>--dry-run</code>; this page follows its rollout.</p>
<table>
<caption>History, newest first</caption>
<thead><tr><th scope="col">Revision</th><th scope="col">Time</th><th scope="col">Change</th><th scope="col">Who</th><th scope="col">Message</th></tr></thead>
<tbody>${[...s.history].reverse().map((e) => html`<tr><td>${e.revision}</td><td>${e.at}</td><td>${e.kind === 'rollback' ? `rollback${e.automatic ? ' (automatic)' : ''} to` : 'apply'} ${e.name} ${e.version}${e.from ? ` (from ${e.from})` : ''}</td><td>${e.author}</td><td>${e.message ?? ''}</td></tr>`)}</tbody>
</table>`)
}
