import { basename, extname } from 'node:path'
import type { ProviderDefinition } from '../contracts/provider.ts'
import { durationToSeconds, type Duration } from './duration.ts'
import { validateFields, type FieldIssue } from './fields.ts'
import { loadConfigModule } from './module-loader.ts'
import { providerFields } from './provider-schema.ts'
import { resolveSecret, type SecretRef } from './secrets.ts'

/** Provider file extensions, in the order they are read. */
export const PROVIDER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.json'] as const

export function isProviderFile(path: string): boolean {
  return (PROVIDER_EXTENSIONS as readonly string[]).includes(extname(path)) && !path.endsWith('.d.ts') && !basename(path).startsWith('.')
}

/** Values a provider inherits from the main configuration. */
export interface ProviderDefaults {
  publicUrl: string
  sessionMaxInactive: number
  sessionMaxLength: number
}

export type ProviderLoadResult =
  | { ok: true; file: string; provider: ProviderDefinition }
  | { ok: false; file: string; issues: FieldIssue[] }

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i

/** True for URLs that may use plain http: loopback hosts only. */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK.test(url.hostname) || url.hostname.endsWith('.localhost')
}

/** Reads, validates and resolves one provider file. Never throws. */
export async function loadProviderFile(file: string, defaults: ProviderDefaults): Promise<ProviderLoadResult> {
  let input: unknown
  try {
    input = await loadConfigModule(file)
  } catch (cause) {
    return { ok: false, file, issues: [{ key: '(file)', reason: cause instanceof Error ? cause.message : String(cause) }] }
  }
  return validateProvider(input, file, defaults)
}

/** Validates a provider object as read from `file`. */
export function validateProvider(input: unknown, file: string, defaults: ProviderDefaults): ProviderLoadResult {
  // `$schema` points editors at the published JSON Schema; it is not a setting.
  if (input && typeof input === 'object' && '$schema' in input) {
    const { $schema: _schema, ...rest } = input as Record<string, unknown>
    input = rest
  }
  const { value, issues } = validateFields(providerFields, input)
  if (issues.length > 0) return { ok: false, file, issues }
  const v = value as {
    [K in keyof typeof providerFields]: unknown
  }
  const name = (v.name as string | null) ?? basename(file, extname(file))
  if (!new RegExp(providerFields.name.pattern!).test(name)) {
    issues.push({ key: 'name', reason: `"${name}" (from the file name) must match ${providerFields.name.pattern}; set name explicitly` })
  }
  const issuer = new URL(v.issuer as string)
  if (issuer.protocol !== 'https:' && !isLoopbackUrl(issuer)) {
    issues.push({ key: 'issuer', reason: 'must use https (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)' })
  }
  if (issuer.search || issuer.hash) issues.push({ key: 'issuer', reason: 'must not have a query or fragment' })
  const scopes = v.scopes as string[]
  if (!scopes.includes('openid')) issues.push({ key: 'scopes', reason: 'must include "openid"' })
  let clientSecret: string | undefined
  if (v.clientSecret === null || v.clientSecret === undefined) {
    issues.push({ key: 'clientSecret', reason: `is required for clientAuthentication ${String(v.clientAuthentication)}` })
  } else {
    try {
      clientSecret = resolveSecret(v.clientSecret as SecretRef, 'clientSecret')
    } catch (cause) {
      issues.push({ key: 'clientSecret', reason: (cause as Error).message.replace(/^clientSecret: /, '') })
    }
  }
  if (issues.length > 0) return { ok: false, file, issues }
  const publicUrl = defaults.publicUrl.replace(/\/+$/, '')
  const seconds = (d: unknown, fallback: number) => (d === null || d === undefined ? fallback : durationToSeconds(d as Duration))
  const provider: ProviderDefinition = {
    name,
    displayName: (v.displayName as string | null) ?? name,
    displayOrder: v.displayOrder as number,
    enabled: v.enabled as boolean,
    hideOnLoginPage: v.hideOnLoginPage as boolean,
    strategy: 'oidc',
    issuer: v.issuer as string,
    clientId: v.clientId as string,
    clientSecret,
    clientAuthentication: v.clientAuthentication as ProviderDefinition['clientAuthentication'],
    redirectUrl: (v.redirectUrl as string | null) ?? `${publicUrl}/auth/callback`,
    postLogoutUrl: (v.postLogoutUrl as string | null) ?? `${publicUrl}/auth/signed-out`,
    scopes,
    sessionMaxInactive: seconds(v.sessionMaxInactive, defaults.sessionMaxInactive),
    sessionMaxLength: seconds(v.sessionMaxLength, defaults.sessionMaxLength),
    createUnknownUsers: v.createUnknownUsers as boolean,
    createUnknownRoles: v.createUnknownRoles as boolean,
    source: file,
  }
  return { ok: true, file, provider }
}

/** One line per issue: `file: key: reason`. */
export function formatIssues(file: string, issues: readonly FieldIssue[]): string[] {
  return issues.map((i) => `${file}: ${i.key}: ${i.reason}`)
}
