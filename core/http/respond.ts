import { serialize, type CookieSerializeOptions } from 'cookie-es'

/** Headers every response carries. Pages load no script at all. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
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

type Body = ConstructorParameters<typeof Response>[0]

function build(body: Body, contentType: string | undefined, options: ResponseOptions): Response {
  const headers = new Headers(SECURITY_HEADERS)
  if (contentType) headers.set('content-type', contentType)
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value)
  for (const c of options.cookies ?? []) headers.append('set-cookie', serialize(c.name, c.value, c.options))
  return new Response(body, { status: options.status ?? 200, headers })
}

export function htmlResponse(html: string, options: ResponseOptions = {}): Response {
  return build(html, 'text/html; charset=utf-8', options)
}

export function jsonResponse(value: unknown, options: ResponseOptions = {}): Response {
  return build(JSON.stringify(value), 'application/json; charset=utf-8', options)
}

/** 303: the browser follows with a GET, whatever the method was. */
export function redirectResponse(location: string, options: ResponseOptions = {}): Response {
  return build(null, undefined, { ...options, status: options.status ?? 303, headers: { ...options.headers, location } })
}

export function textResponse(text: string, contentType: string, options: ResponseOptions = {}): Response {
  return build(text, contentType, { ...options, headers: { 'cache-control': 'public, max-age=3600', ...options.headers } })
}
