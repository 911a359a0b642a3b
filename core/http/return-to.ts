import { hostAllowed } from '../config/main-config.ts'

/**
 * Accepts for `returnTo` a same-origin path: it must start with a single
 * `/`, and must not turn into another origin when the browser resolves it
 * (`//evil`, `/\evil`, encoded or control-character variants). With
 * `allowedHosts` (forward authentication), also an absolute URL of one of
 * those hosts: http(s) only (https when publicUrl is), no user information.
 * Anything else becomes `/`.
 */
export function safeReturnTo(value: unknown, publicUrl: string, allowedHosts: readonly string[] = []): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/'
  if (allowedHosts.length > 0 && /^https?:\/\//i.test(value)) return allowedUrl(value, publicUrl, allowedHosts)
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/'
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/'
  let decoded = value
  try {
    for (let i = 0; i < 3 && decoded.includes('%'); i++) decoded = decodeURIComponent(decoded)
  } catch {
    return '/'
  }
  if (decoded.startsWith('//') || decoded.startsWith('/\\') || /[\u0000-\u001f\u007f\\]/.test(decoded)) return '/'
  const base = new URL(publicUrl)
  const resolved = new URL(value, base)
  if (resolved.origin !== base.origin) return '/'
  return resolved.pathname + resolved.search + resolved.hash
}

function allowedUrl(value: string, publicUrl: string, allowedHosts: readonly string[]): string {
  if (/[\u0000-\u0020\u007f\\]/.test(value)) return '/'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return '/'
  }
  const secure = publicUrl.startsWith('https:')
  if (url.protocol !== 'https:' && (secure || url.protocol !== 'http:')) return '/'
  if (url.username !== '' || url.password !== '') return '/'
  if (!hostAllowed(url.hostname, allowedHosts)) return '/'
  return url.href
}
