/**
 * Accepts only a same-origin path for `returnTo`: it must start with a single
 * `/`, and must not turn into another origin when the browser resolves it
 * (`//evil`, `/\evil`, encoded or control-character variants). Anything else
 * becomes `/`.
 */
export function safeReturnTo(value: unknown, publicUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/'
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
