import type { H3Event } from 'h3'
import { OtpkiError } from '../errors.ts'

/** Form posts: sign-in, sign-out, linking, back-channel logout. */
export const FORM_BODY_LIMIT = 16_384
/** JSON bodies of the administration routes (a PEM certificate fits many times). */
export const JSON_BODY_LIMIT = 262_144

function tooLarge(limit: number): OtpkiError {
  return new OtpkiError('BODY_TOO_LARGE', `request body over ${limit} bytes`, { publicMessage: 'Request too large.' })
}

/**
 * Reads a request body as UTF-8 text, counting the bytes actually received
 * whatever the framing (Content-Length or chunked): past `limit` it stops
 * reading, cancels the stream and throws `BODY_TOO_LARGE` (413; the
 * connection is then closed, so the rest is never read).
 */
export async function readBodyText(event: H3Event, limit: number): Promise<string> {
  const bytes = await readBodyBytes(event, limit)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new OtpkiError('REQUEST_INVALID', 'request body is not UTF-8', {
      publicMessage: 'The request could not be read.',
    })
  }
}

/** {@link readBodyText}'s bytes, whatever they are. */
export async function readBodyBytes(event: H3Event, limit: number): Promise<Buffer> {
  const declared = event.req.headers.get('content-length')
  if (declared !== null && !(Number(declared) <= limit)) throw tooLarge(limit)
  const stream = event.req.body
  if (!stream) return Buffer.alloc(0)
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/** An upload: a `multipart/form-data` or urlencoded form, read within `limit` bytes. */
export async function readUploadForm(event: H3Event, limit: number): Promise<FormData> {
  const type = event.req.headers.get('content-type') ?? ''
  if (!type.startsWith('multipart/form-data') && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new OtpkiError('UNSUPPORTED_MEDIA_TYPE', `unexpected content type ${type.slice(0, 64)}`, {
      publicMessage: 'Unsupported request.',
    })
  }
  const bytes = await readBodyBytes(event, limit)
  try {
    return await new Response(bytes, { headers: { 'content-type': type } }).formData()
  } catch {
    throw new OtpkiError('REQUEST_INVALID', 'the form could not be read', {
      publicMessage: 'The form could not be read.',
    })
  }
}

/** An `application/x-www-form-urlencoded` body, read within {@link FORM_BODY_LIMIT}. */
export async function readForm(event: H3Event): Promise<URLSearchParams> {
  const type = event.req.headers.get('content-type') ?? ''
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new OtpkiError('UNSUPPORTED_MEDIA_TYPE', `unexpected content type ${type.slice(0, 64)}`, {
      publicMessage: 'Unsupported request.',
    })
  }
  return new URLSearchParams(await readBodyText(event, FORM_BODY_LIMIT))
}

/** A JSON object body, read within {@link JSON_BODY_LIMIT}. */
export async function readJsonObject(event: H3Event): Promise<Record<string, unknown>> {
  if (!(event.req.headers.get('content-type') ?? '').startsWith('application/json')) {
    throw new OtpkiError('UNSUPPORTED_MEDIA_TYPE', 'a request without a JSON body', {
      publicMessage: 'Send a JSON body.',
    })
  }
  let value: unknown
  try {
    value = JSON.parse(await readBodyText(event, JSON_BODY_LIMIT))
  } catch (error) {
    if (error instanceof OtpkiError) throw error
    throw new OtpkiError('REQUEST_INVALID', 'the body is not JSON', { publicMessage: 'The body is not valid JSON.' })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OtpkiError('REQUEST_INVALID', 'the body is not a JSON object', { publicMessage: 'Send a JSON object.' })
  }
  return value as Record<string, unknown>
}
