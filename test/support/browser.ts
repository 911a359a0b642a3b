import { CookieJar } from 'tough-cookie'

export interface BrowserResponse {
  status: number
  url: string
  headers: Headers
  body: string
}

/**
 * A minimal browser for integration tests: a cookie jar, manual redirects
 * (so each hop can be asserted), form posts. Talks real HTTP on loopback.
 */
export class TestBrowser {
  readonly jar = new CookieJar()
  /** Every URL visited, in order. */
  readonly history: string[] = []

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const headers = new Headers(init.headers)
    const cookie = await this.jar.getCookieString(url)
    if (cookie) headers.set('cookie', cookie)
    let body: string | undefined
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded')
      body = new URLSearchParams(init.form).toString()
    }
    this.history.push(url)
    const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' })
    for (const setCookie of res.headers.getSetCookie()) await this.jar.setCookie(setCookie, url, { ignoreError: true })
    return { status: res.status, url, headers: res.headers, body: await res.text() }
  }

  /** Follows redirects (303/302/301/307) until a non-redirect answer. */
  async follow(url: string, init: { method?: string; form?: Record<string, string> } = {}, max = 15): Promise<BrowserResponse> {
    let res = await this.request(url, init)
    for (let i = 0; i < max && res.status >= 300 && res.status < 400; i++) {
      const location = res.headers.get('location')
      if (!location) break
      const next = new URL(location, res.url).href
      res = res.status === 307 || res.status === 308 ? await this.request(next, init) : await this.request(next)
    }
    return res
  }

  async cookie(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url)
    return cookies.find((c) => c.key === name)?.value
  }
}

/** Reads a form's action and fields from an HTML page (first form, or the one whose action matches). */
export function parseForm(html: string, actionIncludes?: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)]
  const form = forms.find((f) => !actionIncludes || (attr(f[1]!, 'action') ?? '').includes(actionIncludes))
  if (!form) throw new Error(`no form${actionIncludes ? ` with action ${actionIncludes}` : ''} in page:\n${html.slice(0, 2000)}`)
  const fields: Record<string, string> = {}
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const name = attr(input[1]!, 'name')
    if (name) fields[name] = decodeEntities(attr(input[1]!, 'value') ?? '')
  }
  return { action: decodeEntities(attr(form[1]!, 'action') ?? ''), fields }
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag)?.[1]
}

function decodeEntities(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'")
}
