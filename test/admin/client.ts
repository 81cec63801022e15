/** A small admin API client for tests: keeps the session cookie and CSRF token like a browser would. */
export class AdminClient {
  cookie?: string
  csrf?: string

  constructor(public base: string) {}

  /** The same session against another node's admin server. */
  on(base: string): AdminClient {
    const other = new AdminClient(base)
    other.cookie = this.cookie
    other.csrf = this.csrf
    return other
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, headers: Headers, text: string }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.csrf && method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}),
        ...headers
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const set = res.headers.getSetCookie()[0]
    if (set) {
      const value = set.split(';')[0]!
      this.cookie = value.endsWith('=') ? undefined : value
    }
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    const csrf = (parsed as { csrf?: string } | null)?.csrf
    if (typeof csrf === 'string') this.csrf = csrf
    return { status: res.status, body: parsed, headers: res.headers, text }
  }

  op(name: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    return this.request('POST', `/api/v1/ops/${name}`, params, headers)
  }

  login(name: string, password: string) {
    return this.request('POST', '/api/v1/login', { name, password })
  }
}
