import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { OtpkiError } from '../errors.ts'

/**
 * A secret in configuration: the value itself, the name of an environment
 * variable that holds it, or a file whose content (trimmed) is the value.
 *
 * @example
 * ```ts
 * clientSecret: { env: 'KEYCLOAK_CLIENT_SECRET' }
 * clientSecret: { file: '/run/secrets/keycloak' }
 * ```
 */
export type SecretRef = string | { env: string } | { file: string }

export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value === 'string') return value.length > 0
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const keys = Object.keys(value)
  if (keys.length !== 1) return false
  const [key] = keys
  const inner = (value as Record<string, unknown>)[key!]
  return (key === 'env' || key === 'file') && typeof inner === 'string' && inner.length > 0
}

/** Reads a secret's value. The error names where it looked, never the value. */
export function resolveSecret(ref: SecretRef, what: string): string {
  if (typeof ref === 'string') return ref
  if ('env' in ref) {
    const value = process.env[ref.env]
    if (value === undefined || value === '') {
      throw new OtpkiError('SECRET_UNRESOLVED', `${what}: environment variable ${ref.env} is not set`)
    }
    return value
  }
  try {
    const value = readFileSync(ref.file, 'utf8').trim()
    if (value === '') throw new Error('the file is empty')
    return value
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new OtpkiError('SECRET_UNRESOLVED', `${what}: cannot read secret file ${ref.file}: ${reason}`, { cause })
  }
}

/**
 * Reads secrets for a file meant for another machine (a provider file to
 * commit, say): a reference this machine cannot resolve is reported to
 * `missing` and stands in as a placeholder that passes the checks of its
 * kind (a private key stands in as a throwaway PEM key, any other secret as a
 * long string), instead of making the file invalid.
 */
export function deploymentSecrets(
  missing: (message: string) => void = () => {},
): (ref: SecretRef, what: string) => string {
  return (ref, what) => {
    try {
      return resolveSecret(ref, what)
    } catch (error) {
      missing((error as Error).message)
      return /privatekey/i.test(what) ? placeholderKey() : 'x'.repeat(64)
    }
  }
}

let placeholder: string | undefined
/** A throwaway P-256 key in PKCS#8 PEM, made once. */
function placeholderKey(): string {
  placeholder ??= generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString()
  return placeholder
}
