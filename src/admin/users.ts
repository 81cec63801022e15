import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { RegistryUser } from '../state/types.js'
import { layout, type PageContext } from './pages.js'
import { compareText } from '../text-order.js'

/**
 * The platform's users (Pryv's registry) for the admin app: searched and paged on the server, so a
 * registry of 100k users is never sent at once. Read-only: the registry moves users only core by core
 * (`GET /admin/servers/:from/rename/:to` of the register API), since a user's data lives on its core.
 */
type Html = HtmlEscapedString | Promise<HtmlEscapedString>

export const USERS_PAGE_SIZE = 50
export const MAX_USERS_PAGE_SIZE = 500

export interface UsersQuery {
  /** Part of the username or of the email, any case. */
  readonly q?: string
  /** Only the users of this core. */
  readonly core?: string
  /** The last username of the previous page (pages are in username order). */
  readonly after?: string
  readonly limit: number
}

export interface UsersPage {
  readonly users: readonly RegistryUser[]
  /** Users matching the query, on every page. */
  readonly total: number
  /** `after` for the next page; absent on the last. */
  readonly next?: string
}

/**
 * One page of the users matching `query`, in username order, in one pass over the registry: the
 * page is kept sorted as the scan goes (no sort of every user).
 */
export function usersPage(users: Iterable<RegistryUser>, query: UsersQuery): UsersPage {
  const q = query.q?.trim().toLowerCase() ?? ''
  const page: RegistryUser[] = []
  let total = 0
  let more = false
  for (const u of users) {
    if (query.core && u.core !== query.core) continue
    if (q && !u.username.includes(q) && !String(u.fields.email ?? '').toLowerCase().includes(q)) continue
    total++
    if (query.after !== undefined && u.username <= query.after) continue
    if (page.length === query.limit && u.username > page.at(-1)!.username) {
      more = true
      continue
    }
    let i = page.length
    while (i > 0 && page[i - 1]!.username > u.username) i--
    page.splice(i, 0, u)
    if (page.length > query.limit) {
      page.pop()
      more = true
    }
  }
  return { users: page, total, ...(more ? { next: page.at(-1)!.username } : {}) }
}

export interface UsersView extends UsersPage {
  readonly query: UsersQuery
  readonly cores: readonly string[]
  /** Users per core, as the registry counts them. */
  readonly counts: Readonly<Record<string, number>>
}

export function usersPageHtml(ctx: PageContext, view: UsersView): Html {
  const { query } = view
  const first = view.users[0]?.username
  const last = view.users.at(-1)?.username
  const link = (after?: string) => `/users?${new URLSearchParams({ ...(query.q ? { q: query.q } : {}), ...(query.core ? { core: query.core } : {}), ...(after !== undefined ? { after } : {}) })}`
  return layout('Platform users', ctx, html`<p>The users of the platform's registry and the core that hosts each. Read-only: a user's data lives on its core, so the registry moves users only a whole core at a time (<code>GET /admin/servers/:from/rename/:to</code> of the register API).</p>
<form method="get" action="/users" class="change">
<label for="q">Username or email contains</label><input id="q" name="q" value="${query.q ?? ''}">
<label for="core">Core</label><select id="core" name="core"><option value="">any</option>${view.cores.map((c) => html`<option${c === query.core ? html` selected` : ''}>${c}</option>`)}</select>
<span class="buttons"><button type="submit">Search</button></span>
</form>
<table>
<caption>${view.total} user${view.total === 1 ? '' : 's'}${query.q || query.core ? ' found' : ''}${view.users.length > 0 ? html`, ${first} to ${last} shown` : ''}</caption>
<thead><tr><th scope="col">User</th><th scope="col">Core</th><th scope="col">Email</th><th scope="col">Registered</th><th scope="col">Other fields</th></tr></thead>
<tbody>${view.users.map((u) => html`<tr><td>${u.username}</td><td>${u.core}</td><td>${String(u.fields.email ?? '')}</td><td>${new Date(u.registeredAt).toISOString()}</td><td>${Object.entries(u.fields).filter(([k]) => k !== 'email').map(([k, v]) => `${k}=${v}`).join(', ')}</td></tr>`)}</tbody>
</table>
<nav aria-label="Pages">${query.after !== undefined ? html`<a href="${link()}">First page</a> ` : ''}${view.next ? html`<a href="${link(view.next)}">Next ${query.limit}</a>` : ''}</nav>
<table>
<caption>Users per core</caption>
<thead><tr><th scope="col">Core</th><th scope="col">Users</th></tr></thead>
<tbody>${Object.entries(view.counts).sort(([a], [b]) => compareText(a, b)).map(([c, n]) => html`<tr><td>${c}</td><td>${n}</td></tr>`)}</tbody>
</table>`)
}
