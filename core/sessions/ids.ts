import { createHash, randomBytes } from 'node:crypto'

/** A new opaque identifier: 256 bits from the CSPRNG, base64url. */
export function newId(): string {
  return randomBytes(32).toString('base64url')
}

/** What the database stores instead of an identifier. */
export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex')
}
