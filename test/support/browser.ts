import { request as httpRequest } from 'node:http'
import { CookieJar } from 'tough-cookie'

/** Every cookie value any test browser received: log hygiene checks that none reached a log. */
export const SEEN_COOKIE_VALUES = new Set<string>()

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

  /** `hosts`: names this browser resolves itself (like /etc/hosts), e.g. { 'idp.localhost': '127.0.0.1' }. */
  constructor(private readonly hosts: Record<string, string> = {}) {}

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; body?: string; headers?: Record<string, string> } = {},
  ): Promise<BrowserResponse> {
    const headers = new Headers(init.headers)
    const cookie = await this.jar.getCookieString(url)
    if (cookie) headers.set('cookie', cookie)
    let body: string | undefined = init.body
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded')
      body = new URLSearchParams(init.form).toString()
    }
    this.history.push(url)
    const res = await this.send(new URL(url), init.method ?? (body ? 'POST' : 'GET'), headers, body)
    for (const setCookie of res.headers.getSetCookie()) {
      const value = /^[^=]+=([^;]*)/.exec(setCookie)?.[1]
      if (value && value.length >= 16) SEEN_COOKIE_VALUES.add(value)
      await this.jar.setCookie(setCookie, url, { ignoreError: true })
    }
    return { ...res, url }
  }

  /** One HTTP exchange: connects to the mapped address (if any) and sends the URL's own Host, as a browser would. */
  private send(
    url: URL,
    method: string,
    headers: Headers,
    body: string | undefined,
  ): Promise<Omit<BrowserResponse, 'url'>> {
    return new Promise((resolve, reject) => {
      const outgoing: Record<string, string> = { host: url.host }
      headers.forEach((value, name) => {
        outgoing[name] = value
      })
      if (body !== undefined) outgoing['content-length'] = String(Buffer.byteLength(body))
      const req = httpRequest(
        {
          host: this.hosts[url.hostname] ?? url.hostname,
          port: url.port || 80,
          path: url.pathname + url.search,
          method,
          headers: outgoing,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const responseHeaders = new Headers()
            for (let i = 0; i < res.rawHeaders.length; i += 2)
              responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
            resolve({
              status: res.statusCode ?? 0,
              headers: responseHeaders,
              body: Buffer.concat(chunks).toString('utf8'),
            })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  /** Follows redirects (303/302/301/307) until a non-redirect answer. */
  async follow(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
    max = 15,
  ): Promise<BrowserResponse> {
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
  if (!form)
    throw new Error(`no form${actionIncludes ? ` with action ${actionIncludes}` : ''} in page:\n${html.slice(0, 2000)}`)
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
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
}
