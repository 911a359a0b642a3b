import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ProviderTokens } from '../contracts/auth-method.ts'

/**
 * Encrypts stored provider tokens at rest (AES-256-GCM). The key comes from
 * configuration (`tokenEncryptionKey`); without one, a random key is made once
 * and kept in a file beside the database (development).
 */
export class TokenVault {
  private readonly key: Buffer

  constructor(secret: string) {
    // Any secret string becomes a 256-bit key.
    this.key = createHash('sha256').update(secret, 'utf8').digest()
  }

  /** The key file beside the database, created (mode 0600) when missing. */
  static fromKeyFile(file: string): TokenVault {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 })
    }
    return new TokenVault(readFileSync(file, 'utf8').trim())
  }

  seal(tokens: ProviderTokens): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()])
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
  }

  open(sealed: string): ProviderTokens {
    const [version, iv, tag, body] = sealed.split('.')
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown token format')
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    return JSON.parse(text) as ProviderTokens
  }
}
