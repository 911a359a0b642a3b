import { createPrivateKey, createPublicKey } from 'node:crypto'
import { basename, extname } from 'node:path'
import type {
  ClaimNames,
  ClientAuthentication,
  ExtensionEntry,
  ProviderDefinition,
  ProviderEndpoints,
} from '../contracts/provider.ts'
import { durationToSeconds, type Duration } from './duration.ts'
import { resolveOptions, validateFields, type FieldIssue, type Fields } from './fields.ts'
import { loadDataModule } from './module-loader.ts'
import { providerFields } from './provider-schema.ts'
import { resolveSecret, type SecretRef } from './secrets.ts'
import { parseClaimPath } from '../claims/claim-path.ts'

/** Provider file extensions, in the order they are read. */
export const PROVIDER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.json'] as const

export function isProviderFile(path: string): boolean {
  return (
    (PROVIDER_EXTENSIONS as readonly string[]).includes(extname(path)) &&
    !path.endsWith('.d.ts') &&
    !basename(path).startsWith('.')
  )
}

/** The mappers and flow steps plugins registered, by type, with their option schemas. */
export interface ProviderExtensions {
  mappers: ReadonlyMap<string, { optionsSchema?: Fields | undefined }>
  flowSteps: ReadonlyMap<string, { optionsSchema?: Fields | undefined }>
}

/** Values a provider inherits from the main configuration, and what the running app offers it. */
export interface ProviderDefaults {
  publicUrl: string
  sessionMaxInactive: number
  sessionMaxLength: number
  /** When given, `mappers` and flow entries are checked against them. */
  extensions?: ProviderExtensions
}

const SYNC_MODES = ['force', 'import', 'legacy']

/**
 * Checks `mappers` / flow entries: objects with a known `type` and valid
 * options. Returns them with each extension's option defaults applied, so its
 * code never meets a missing optional option.
 */
function validateEntries(
  key: string,
  entries: unknown[],
  known: ProviderExtensions['mappers'] | undefined,
  issues: FieldIssue[],
): ExtensionEntry[] {
  return entries.map((entry, i) => {
    const at = `${key}[${i}]`
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return void issues.push({ key: at, reason: 'must be an object with a type' })
    const { type, syncMode, ...options } = entry as Record<string, unknown>
    if (typeof type !== 'string' || type === '') return void issues.push({ key: `${at}.type`, reason: 'is required' })
    if (syncMode !== undefined && (key !== 'mappers' || !SYNC_MODES.includes(syncMode as string))) {
      issues.push({
        key: `${at}.syncMode`,
        reason: key === 'mappers' ? `must be one of ${SYNC_MODES.join(', ')}` : 'is not a known key',
      })
    }
    if (!known) return entry
    const extension = known.get(type)
    if (!extension)
      return void issues.push({
        key: `${at}.type`,
        reason: `unknown ${key === 'mappers' ? 'mapper' : 'flow step'} "${type}" (known: ${[...known.keys()].join(', ')})`,
      })
    if (!extension.optionsSchema) {
      if (Object.keys(options).length > 0)
        issues.push({ key: `${at}.${Object.keys(options)[0]}`, reason: 'is not a known key' })
      return entry
    }
    const resolved = resolveOptions(extension.optionsSchema, options)
    for (const issue of resolved.issues) issues.push({ key: `${at}.${issue.key}`, reason: issue.reason })
    return { type, ...(syncMode !== undefined ? { syncMode } : {}), ...resolved.value }
  }) as ExtensionEntry[]
}

export type ProviderLoadResult =
  | { ok: true; file: string; provider: ProviderDefinition; warnings: string[] }
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
    input = await loadDataModule(file)
  } catch (cause) {
    return {
      ok: false,
      file,
      issues: [{ key: '(file)', reason: cause instanceof Error ? cause.message : String(cause) }],
    }
  }
  try {
    return validateProvider(input, file, defaults)
  } catch (cause) {
    // Never let one file take the reload down: whatever slipped through is this file's error.
    return {
      ok: false,
      file,
      issues: [
        {
          key: '(file)',
          reason: `cannot be read as a provider: ${cause instanceof Error ? cause.message : String(cause)}`,
        },
      ],
    }
  }
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
    issues.push({
      key: 'name',
      reason: `"${name}" (from the file name) must match ${providerFields.name.pattern}; set name explicitly`,
    })
  }
  const issuer = new URL(v.issuer as string)
  if (issuer.search || issuer.hash) issues.push({ key: 'issuer', reason: 'must not have a query or fragment' })
  const endpoints = Object.fromEntries(
    Object.entries((v.endpoints as Record<string, string | null> | null) ?? {}).filter(([, url]) => url),
  ) as ProviderEndpoints
  const providerUrls: [string, string | undefined][] = [
    ['issuer', v.issuer as string],
    ['backchannelUrl', (v.backchannelUrl as string | null) ?? undefined],
    ...Object.entries(endpoints).map(([k, url]) => [`endpoints.${k}`, url] as [string, string]),
  ]
  for (const [key, url] of providerUrls) {
    if (url && new URL(url).protocol !== 'https:' && !isLoopbackUrl(new URL(url))) {
      issues.push({ key, reason: 'must use https (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)' })
    }
  }
  if (v.discovery === false) {
    for (const key of ['authorization', 'token'] as const) {
      if (!endpoints[key]) issues.push({ key: `endpoints.${key}`, reason: 'is required when discovery is off' })
    }
  }
  const scopes = v.scopes as string[]
  if (!scopes.includes('openid')) issues.push({ key: 'scopes', reason: 'must include "openid"' })

  const auth = v.clientAuthentication as ClientAuthentication
  const secret = (key: 'clientSecret' | 'clientPrivateKey'): string | undefined => {
    if (v[key] === null || v[key] === undefined) return undefined
    try {
      return resolveSecret(v[key] as SecretRef, key)
    } catch (cause) {
      issues.push({ key, reason: (cause as Error).message.replace(`${key}: `, '') })
      return undefined
    }
  }
  const clientSecret = secret('clientSecret')
  const clientPrivateKey = secret('clientPrivateKey')
  const needsSecret = auth === 'client_secret_basic' || auth === 'client_secret_post' || auth === 'client_secret_jwt'
  if (needsSecret && v.clientSecret === null)
    issues.push({ key: 'clientSecret', reason: `is required for clientAuthentication ${auth}` })
  if (auth === 'private_key_jwt' && v.clientPrivateKey === null)
    issues.push({ key: 'clientPrivateKey', reason: 'is required for clientAuthentication private_key_jwt' })
  if (clientPrivateKey) {
    try {
      const text = clientPrivateKey.trim()
      createPrivateKey(text.startsWith('{') ? { key: JSON.parse(text) as never, format: 'jwk' } : text)
    } catch {
      issues.push({ key: 'clientPrivateKey', reason: 'must be a PEM (PKCS#8) private key or a private JWK' })
    }
  }
  let alg = (v.clientAssertionSigningAlg as string | null) ?? undefined
  if (auth === 'client_secret_jwt') {
    alg ??= 'HS256'
    if (!alg.startsWith('HS'))
      issues.push({ key: 'clientAssertionSigningAlg', reason: 'must be HS256, HS384 or HS512 for client_secret_jwt' })
  } else if (auth === 'private_key_jwt') {
    alg ??= 'RS256'
    if (alg.startsWith('HS'))
      issues.push({ key: 'clientAssertionSigningAlg', reason: 'must be an asymmetric algorithm for private_key_jwt' })
  }

  const warnings: string[] = []
  if (v.pkce === 'off') {
    if (auth === 'none')
      issues.push({ key: 'pkce', reason: 'cannot be off for a public client (clientAuthentication none)' })
    else
      warnings.push(
        'pkce is off: authorization codes of this provider are not bound to the browser that asked for them',
      )
  }
  const validatingPublicKey = (v.validatingPublicKey as string | null) ?? undefined
  if (v.useJwksUrl === false && v.validateSignatures !== false) {
    if (!validatingPublicKey) issues.push({ key: 'validatingPublicKey', reason: 'is required when useJwksUrl is off' })
    else {
      try {
        createPublicKey(validatingPublicKey)
      } catch {
        issues.push({ key: 'validatingPublicKey', reason: 'must be a PEM public key or certificate' })
      }
    }
  }
  if (v.validateSignatures === false) {
    warnings.push(
      'validateSignatures is off: ID tokens are trusted because they come straight from the token endpoint over TLS; every claim is still checked',
    )
    if (v.backchannelLogout === true)
      issues.push({
        key: 'backchannelLogout',
        reason: 'needs validateSignatures: logout tokens arrive from outside and must be verified',
      })
  }
  const algorithms = (v.signatureAlgorithms as string[] | null) ?? undefined
  if (algorithms?.some((a) => a.toLowerCase() === 'none'))
    issues.push({ key: 'signatureAlgorithms', reason: 'must not include none' })
  if (durationToSeconds(v.clockTolerance as Duration) > 300)
    issues.push({ key: 'clockTolerance', reason: 'must be at most 5m' })
  if (v.storedTokensReadable === true && v.storeTokens !== true)
    issues.push({ key: 'storedTokensReadable', reason: 'needs storeTokens' })
  const claimNames = v.claims as Partial<Record<keyof ClaimNames, unknown>> | null
  for (const [k, path] of Object.entries(claimNames ?? {})) {
    if (k === 'source' || path === null) continue
    for (const p of Array.isArray(path) ? path : [path]) {
      try {
        parseClaimPath(p as string)
      } catch (cause) {
        issues.push({ key: `claims.${k}`, reason: (cause as Error).message })
      }
    }
  }
  const mappers = validateEntries('mappers', v.mappers as unknown[], defaults.extensions?.mappers, issues)
  const firstLoginFlow = validateEntries(
    'firstLoginFlow',
    v.firstLoginFlow as unknown[],
    defaults.extensions?.flowSteps,
    issues,
  )
  const postLoginFlow = validateEntries(
    'postLoginFlow',
    v.postLoginFlow as unknown[],
    defaults.extensions?.flowSteps,
    issues,
  )
  if (issues.length > 0) return { ok: false, file, issues }
  const claimDefaults = providerFields.claims.fields
  const claims: ClaimNames = {
    source: (claimNames?.source as ClaimNames['source'] | null) ?? 'merged',
    username: (claimNames?.username as string[] | null) ?? claimDefaults.username.default!,
    firstName: (claimNames?.firstName as string | null) ?? claimDefaults.firstName.default!,
    lastName: (claimNames?.lastName as string | null) ?? claimDefaults.lastName.default!,
    email: (claimNames?.email as string | null) ?? claimDefaults.email.default!,
    emailVerified: (claimNames?.emailVerified as string | null) ?? claimDefaults.emailVerified.default!,
    roles: (claimNames?.roles as string | null) ?? claimDefaults.roles.default!,
  }

  const publicUrl = defaults.publicUrl.replace(/\/+$/, '')
  const seconds = (d: unknown, fallback: number) =>
    d === null || d === undefined ? fallback : durationToSeconds(d as Duration)
  const provider: ProviderDefinition = {
    name,
    displayName: (v.displayName as string | null) ?? name,
    displayOrder: v.displayOrder as number,
    enabled: v.enabled as boolean,
    hideOnLoginPage: v.hideOnLoginPage as boolean,
    strategy: 'oidc',
    issuer: v.issuer as string,
    discovery: v.discovery as boolean,
    endpoints,
    backchannelUrl: (v.backchannelUrl as string | null) ?? undefined,
    clientId: v.clientId as string,
    clientSecret,
    clientAuthentication: auth,
    clientAssertionSigningAlg: alg,
    clientPrivateKey,
    redirectUrl: (v.redirectUrl as string | null) ?? `${publicUrl}/auth/callback`,
    postLogoutUrl: (v.postLogoutUrl as string | null) ?? `${publicUrl}/auth/signed-out`,
    scopes,
    prompt: (v.prompt as ProviderDefinition['prompt'] | null) ?? undefined,
    acceptsPromptNoneForward: v.acceptsPromptNoneForward as boolean,
    pkce: v.pkce as 'S256' | 'off',
    validateSignatures: v.validateSignatures as boolean,
    useJwksUrl: v.useJwksUrl as boolean,
    validatingPublicKey,
    validatingPublicKeyId: (v.validatingPublicKeyId as string | null) ?? undefined,
    signatureAlgorithms: algorithms,
    sessionMaxInactive: seconds(v.sessionMaxInactive, defaults.sessionMaxInactive),
    sessionMaxLength: seconds(v.sessionMaxLength, defaults.sessionMaxLength),
    createUnknownUsers: v.createUnknownUsers as boolean,
    createUnknownRoles: v.createUnknownRoles as boolean,
    trustEmail: v.trustEmail as boolean,
    accountLinkingOnly: v.accountLinkingOnly as boolean,
    storeTokens: v.storeTokens as boolean,
    storedTokensReadable: v.storedTokensReadable as boolean,
    backchannelLogout: v.backchannelLogout as boolean,
    bearerAudience: (v.bearerAudience as string[] | null) ?? [v.clientId as string],
    introspectTokens: v.introspectTokens as boolean,
    clockTolerance: durationToSeconds(v.clockTolerance as Duration),
    introspectionCacheTtl: durationToSeconds(v.introspectionCacheTtl as Duration),
    claims,
    mappers,
    syncMode: v.syncMode as ProviderDefinition['syncMode'],
    roleSyncScope: v.roleSyncScope as ProviderDefinition['roleSyncScope'],
    usernameCollision: v.usernameCollision as ProviderDefinition['usernameCollision'],
    firstLoginFlow,
    postLoginFlow,
    source: file,
  }
  return { ok: true, file, provider, warnings }
}

/** One line per issue: `file: key: reason`. */
export function formatIssues(file: string, issues: readonly FieldIssue[]): string[] {
  return issues.map((i) => `${file}: ${i.key}: ${i.reason}`)
}
