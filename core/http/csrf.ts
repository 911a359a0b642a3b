import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * CSRF tokens: an HMAC of what the request is bound to (the browser's CSRF
 * cookie before sign-in, the session after) and the action, under a server key.
 */
export class Csrf {
  private readonly key: Buffer

  constructor(secret: string | undefined) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32)
  }

  token(binding: string, action: string): string {
    return createHmac('sha256', this.key).update(`${action}\0${binding}`).digest('base64url')
  }

  verify(token: unknown, binding: string | undefined, action: string): boolean {
    if (typeof token !== 'string' || !binding || token.length > 128) return false
    const expected = Buffer.from(this.token(binding, action))
    const given = Buffer.from(token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
