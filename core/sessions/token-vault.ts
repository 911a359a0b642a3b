import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** What a ciphertext is bound to: the session it belongs to, and what it holds. */
export interface SealContext {
  /** The session's id hash. */
  readonly session: string
  /** `tokens` (stored provider tokens) or `id_token` (kept for sign-out's id_token_hint). */
  readonly kind: 'tokens' | 'id_token'
}

const VERSION = 'v2'

/**
 * Encrypts what OTPKI keeps of a provider's tokens at rest (AES-256-GCM). The
 * key is derived with HKDF-SHA-256 from the configured `tokenEncryptionKey`
 * (or, without one, a random key kept in a file beside the database), and each
 * ciphertext is bound to its session and kind as associated data: a ciphertext
 * copied to another session's row, or from one column to the other, does not open.
 */
export class TokenVault {
  private readonly key: Buffer

  constructor(secret: string) {
    this.key = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(secret, 'utf8'),
        Buffer.from('otpki token vault'),
        Buffer.from('aes-256-gcm v2'),
        32,
      ),
    )
  }

  /** The key file beside the database, created (mode 0600) when missing. */
  static fromKeyFile(file: string): TokenVault {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 })
    }
    return new TokenVault(readFileSync(file, 'utf8').trim())
  }

  seal(value: unknown, context: SealContext): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(associatedData(context))
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
    return [
      VERSION,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.')
  }

  /** The sealed value; throws when it was sealed for another context, with another key, or altered. */
  open<T>(sealed: string, context: SealContext): T {
    const [version, iv, tag, body] = sealed.split('.')
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('unknown token format')
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(associatedData(context))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    return JSON.parse(text) as T
  }
}

function associatedData(context: SealContext): Buffer {
  return Buffer.from(`otpki/${VERSION}/${context.kind}/${context.session}`, 'utf8')
}
