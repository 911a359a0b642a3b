import { serialize, type CookieSerializeOptions } from 'cookie-es'
import { FastResponse } from 'srvx'

/** Headers every response carries. Pages load no script (the provider form alone widens its own policy for its live check). */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
}

export interface Cookie {
  name: string
  value: string
  options: CookieSerializeOptions
}

export interface ResponseOptions {
  status?: number
  cookies?: Cookie[]
  headers?: Record<string, string>
}

/**
 * Builds the response as srvx's FastResponse with headers as tuples: on Node
 * it is written straight to the socket, with no web-stream round trip (this is
 * the per-request auth check's hot path).
 */
function build(body: string | null, contentType: string | undefined, options: ResponseOptions): Response {
  const merged: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...(contentType ? { 'content-type': contentType } : {}),
    ...options.headers,
  }
  const headers: [string, string][] = Object.entries(merged)
  for (const c of options.cookies ?? []) headers.push(['set-cookie', serialize(c.name, c.value, c.options)])
  return new FastResponse(body, { status: options.status ?? 200, headers }) as Response
}

export function htmlResponse(html: string, options: ResponseOptions = {}): Response {
  return build(html, 'text/html; charset=utf-8', options)
}

/** JSON answers are not pages: no CSP or framing headers, but never cached and never sniffed. */
const JSON_HEADERS: readonly [string, string][] = [
  ['content-type', 'application/json; charset=utf-8'],
  ['x-content-type-options', 'nosniff'],
  ['cache-control', 'no-store'],
]

export function jsonResponse(value: unknown, options: Pick<ResponseOptions, 'status' | 'headers'> = {}): Response {
  return jsonTextResponse(JSON.stringify(value), options)
}

/** {@link jsonResponse} of JSON text already serialized. */
export function jsonTextResponse(json: string, options: Pick<ResponseOptions, 'status' | 'headers'> = {}): Response {
  // A copy: a wrapper (HSTS) may add to the list it is given.
  const headers: [string, string][] = [...JSON_HEADERS]
  if (options.headers) for (const [name, v] of Object.entries(options.headers)) headers.push([name, v])
  return new FastResponse(json, { status: options.status ?? 200, headers }) as Response
}

/**
 * An answer for a proxy, not a browser (forward authentication): the status,
 * the given headers and `Cache-Control: no-store`, on the same direct path as
 * the JSON answers. `headers` is copied, so a cached list can be passed.
 */
export function proxyResponse(
  status: number,
  headers: readonly [string, string][],
  text: string | null = null,
): Response {
  const all: [string, string][] = [...headers, ['cache-control', 'no-store']]
  if (text !== null) all.push(['content-type', 'text/plain; charset=utf-8'])
  return new FastResponse(text, { status, headers: all }) as Response
}

/** 303: the browser follows with a GET, whatever the method was. */
export function redirectResponse(location: string, options: ResponseOptions = {}): Response {
  return build(null, undefined, {
    ...options,
    status: options.status ?? 303,
    headers: { ...options.headers, location },
  })
}

export function textResponse(text: string, contentType: string, options: ResponseOptions = {}): Response {
  return build(text, contentType, {
    ...options,
    headers: { 'cache-control': 'public, max-age=3600', ...options.headers },
  })
}
