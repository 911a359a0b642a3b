import { readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { describeNetworkFailure } from '../network-failure.ts'

/** The largest icon OTPKI keeps (it is embedded in the sign-in page). */
export const ICON_MAX_BYTES = 65_536

/** How long a fetched icon is kept before its URL is read again (at a reload). */
const ICON_CACHE_MS = 3_600_000

/** The image types an icon may be, by the bytes they start with (never by a server's word). */
function imageType(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png'
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  if (bytes.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif'
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp'
  if (bytes.subarray(0, 4).equals(Buffer.from([0, 0, 1, 0]))) return 'image/x-icon'
  const text = bytes.subarray(0, 1024).toString('utf8').trimStart()
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text)) return 'image/svg+xml'
  return undefined
}

/** Where an icon comes from, as a provider file names it: an https URL (http only on loopback), or a file. */
export function iconSource(value: string, providerFile: string): { url: URL } | { path: string } | { issue: string } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return { issue: 'is not a valid URL' }
    }
    const loopback = /^(localhost|127(\.\d+){3}|\[::1\])$/.test(url.hostname) || url.hostname.endsWith('.localhost')
    if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return { url }
    return { issue: 'must be an https URL (http only on loopback) or a file path' }
  }
  return { path: isAbsolute(value) ? value : resolve(dirname(providerFile), value) }
}

const fetched = new Map<string, { at: number; dataUrl: string }>()

async function fetchIcon(url: URL): Promise<Buffer> {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'follow' })
  } catch (cause) {
    throw new Error(describeNetworkFailure(cause, url.href))
  }
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url.href}`)
  if (new URL(res.url).protocol !== 'https:' && url.protocol === 'https:')
    throw new Error(`${url.href} redirected to a URL that is not https`)
  if (Number(res.headers.get('content-length') ?? 0) > ICON_MAX_BYTES)
    throw new Error(`is larger than ${ICON_MAX_BYTES} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += chunk.length
    if (size > ICON_MAX_BYTES) throw new Error(`is larger than ${ICON_MAX_BYTES} bytes`)
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks)
}

/**
 * Reads a provider's icon (a file, or fetched once an hour at most) as a data
 * URL the sign-in page embeds: at most 64 KB, and an image by its first bytes
 * (PNG, JPEG, GIF, WebP, ICO, SVG). Throws with the reason otherwise.
 */
export async function loadIcon(value: string, providerFile: string, now = Date.now()): Promise<string> {
  const source = iconSource(value, providerFile)
  if ('issue' in source) throw new Error(source.issue)
  let bytes: Buffer
  if ('url' in source) {
    const cached = fetched.get(source.url.href)
    if (cached && now - cached.at < ICON_CACHE_MS) return cached.dataUrl
    bytes = await fetchIcon(source.url)
  } else {
    const info = await stat(source.path).catch((cause: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${source.path}: ${cause.code ?? cause.message}`)
    })
    if (info.size > ICON_MAX_BYTES) throw new Error(`${source.path} is larger than ${ICON_MAX_BYTES} bytes`)
    bytes = await readFile(source.path)
  }
  const type = imageType(bytes)
  if (!type) throw new Error('is not a PNG, JPEG, GIF, WebP, ICO or SVG image')
  const dataUrl = `data:${type};base64,${bytes.toString('base64')}`
  if ('url' in source) fetched.set(source.url.href, { at: now, dataUrl })
  return dataUrl
}
