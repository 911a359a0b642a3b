import { createPrivateKey, createPublicKey } from 'node:crypto'
import {
  durationToSeconds,
  field,
  isLoopbackUrl,
  type FieldIssue,
  type InputOf,
  type OutputOf,
  type OptionsContext,
  type ProviderDefinition,
} from '../../core/index.ts'

/** The provider file keys of an OpenID Connect provider, beside the envelope's. */
export const oidcOptionFields = {
  issuer: field.url({
    doc: 'The issuer identifier; discovery is fetched from ISSUER/.well-known/openid-configuration and its issuer must match. https, except for loopback hosts.',
    required: true,
  }),
  discovery: field.boolean({
    doc: 'Read the endpoints from ISSUER/.well-known/openid-configuration (its issuer must equal issuer). Off: give them in endpoints.',
    default: true,
  }),
  endpoints: field.object(
    {
      authorization: field.url({ doc: 'Authorization endpoint (required when discovery is off).' }),
      token: field.url({ doc: 'Token endpoint (required when discovery is off).' }),
      userinfo: field.url({ doc: 'Userinfo endpoint.' }),
      endSession: field.url({ doc: 'End-session (RP-initiated logout) endpoint.' }),
      jwks: field.url({ doc: 'JWKS URL of the signing keys.' }),
      introspection: field.url({ doc: 'Token introspection endpoint (RFC 7662).' }),
    },
    {
      doc: 'Endpoints given by hand, when discovery is off. With discovery on, a value here overrides the discovered one.',
    },
  ),
  backchannelUrl: field.url({
    doc: 'Internal base URL for server-to-server calls (discovery, JWKS, token, userinfo, introspection). URLs under the issuer are sent here instead; browsers and issuer validation keep the public issuer.',
  }),
  clientId: field.string({ doc: 'The client ID registered at the provider.', required: true }),
  clientSecret: field.secret({
    doc: 'The client secret: a string, { "env": "NAME" } or { "file": "/path" }. Never logged or listed. Required for client_secret_basic, client_secret_post and client_secret_jwt.',
  }),
  clientAuthentication: field.enum(
    ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    {
      doc: 'How OTPKI authenticates at the token and introspection endpoints. none: a public client (PKCE is then mandatory).',
      default: 'client_secret_basic',
    },
  ),
  clientAssertionSigningAlg: field.enum(
    [
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
      'HS256',
      'HS384',
      'HS512',
    ],
    {
      doc: 'Signing algorithm of the client assertion (client_secret_jwt: HS*; private_key_jwt: one the key allows).',
      defaultText: 'RS256 for private_key_jwt, HS256 for client_secret_jwt',
    },
  ),
  clientPrivateKey: field.secret({
    doc: 'Private key for private_key_jwt, as PEM (PKCS#8) or a JWK (JSON text; its kid is sent), through a secret reference.',
  }),
  redirectUrl: field.url({
    doc: 'The redirect URL registered at the provider.',
    defaultText: '<publicUrl>/auth/callback',
  }),
  postLogoutUrl: field.url({
    doc: 'Where the provider sends the browser after sign-out (register it at the provider).',
    defaultText: '<publicUrl>/auth/signed-out',
  }),
  scopes: field.stringArray({ doc: 'Scopes requested; must include openid.', default: ['openid', 'profile', 'email'] }),
  prompt: field.enum(['none', 'login', 'consent', 'select_account'], {
    doc: 'The prompt parameter sent with every authorization request.',
  }),
  acceptsPromptNoneForward: field.boolean({
    doc: 'When OTPKI sign-in is asked with prompt=none (silent re-authentication), forward it to this provider; off: answer login_required at once.',
    default: false,
  }),
  pkce: field.enum(['S256', 'off'], {
    doc: 'PKCE method. off only for providers that cannot do PKCE (logged as a warning); never with clientAuthentication none.',
    default: 'S256',
  }),
  validateSignatures: field.boolean({
    doc: 'Verify ID token signatures. Off is accepted only for ID tokens received directly from the token endpoint over TLS; logged as a warning at every load; every claim check still applies.',
    default: true,
  }),
  useJwksUrl: field.boolean({
    doc: "Verify with the provider's JWKS (cached; an unknown kid causes one rate-limited refetch). Off: validatingPublicKey.",
    default: true,
  }),
  validatingPublicKey: field.string({
    doc: 'PEM public key (or certificate) that signs the tokens, when useJwksUrl is off.',
  }),
  validatingPublicKeyId: field.string({ doc: "With validatingPublicKey: the token's kid must equal this." }),
  signatureAlgorithms: field.stringArray({
    doc: "Accepted token signature algorithms. Default: the provider's id_token_signing_alg_values_supported, else RS256. none is always refused.",
  }),
  storeTokens: field.boolean({
    doc: "Keep the provider's access, refresh and ID tokens with the session, encrypted at rest.",
    default: false,
  }),
  storedTokensReadable: field.boolean({
    doc: 'The signed-in user may read their own stored tokens at GET /auth/tokens (refreshed when expired).',
    default: false,
  }),
  signOutByServerRequest: field.boolean({
    doc: "Sign out at the provider with a server-to-server request to its end-session endpoint (id_token_hint, and the client authentication), instead of sending the browser there; a failure is logged and audited, and the local session ends all the same. Keycloak's brokering calls this back-channel logout; it is not backchannelLogout, which receives the provider's logout tokens.",
    default: false,
  }),
  backchannelLogout: field.boolean({
    doc: 'Accept OIDC Back-Channel Logout tokens from this provider at POST /auth/backchannel-logout (register that URL at the provider).',
    default: false,
  }),
  tenants: field.stringArray({
    doc: "Multi-tenant Entra ID (issuer https://login.microsoftonline.com/organizations/v2.0 or common/v2.0, whose discovery names the issuer https://login.microsoftonline.com/{tenantid}/v2.0): the tenant IDs (tid) whose users may sign in. A token must name one of them in iss, and its tid must match; its identities are kept under that tenant's issuer. Required for such an issuer.",
    default: [],
  }),
  bearerAudience: field.stringArray({
    doc: 'Bearer JWT access tokens from this provider are accepted when their aud holds one of these.',
    defaultText: '[clientId]',
  }),
  clockTolerance: field.duration({
    doc: "How far a token's iat, nbf and auth_time may lie in the future, and exp in the past, because clocks differ (ID tokens, logout tokens, bearer tokens). At most 5m.",
    default: '30s',
  }),
  introspectionCacheTtl: field.duration({
    doc: 'How long an opaque bearer token accepted by introspection is reused before it is introspected again: a token revoked at the provider stops working within this time.',
    default: '10s',
  }),
  introspectTokens: field.boolean({
    doc: 'Introspect opaque bearer tokens at this provider (RFC 7662). At most one provider may, so a token is never sent to another.',
    default: false,
  }),
}

/** What a provider file of strategy `oidc` may contain besides the envelope. */
export type OidcOptionsInput = InputOf<typeof oidcOptionFields>

declare module '../../core/config/provider-schema.ts' {
  interface ProviderStrategies {
    oidc: OidcOptionsInput
  }
}

/** Endpoints given by hand (discovery off) or overriding discovered ones. */
export interface ProviderEndpoints {
  readonly authorization?: string
  readonly token?: string
  readonly userinfo?: string
  readonly endSession?: string
  readonly jwks?: string
  readonly introspection?: string
}

export type ClientAuthentication =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none'

/** An OIDC provider's options as the method uses them: defaults applied, durations in seconds, secrets resolved. */
export interface OidcOptions {
  readonly issuer: string
  readonly discovery: boolean
  readonly endpoints: ProviderEndpoints
  readonly backchannelUrl: string | undefined
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly clientAuthentication: ClientAuthentication
  /** Resolved: RS256 for private_key_jwt, HS256 for client_secret_jwt unless set. */
  readonly clientAssertionSigningAlg: string | undefined
  /** PEM or JWK text. */
  readonly clientPrivateKey: string | undefined
  readonly redirectUrl: string
  readonly postLogoutUrl: string
  readonly scopes: readonly string[]
  readonly prompt: 'none' | 'login' | 'consent' | 'select_account' | undefined
  readonly acceptsPromptNoneForward: boolean
  readonly pkce: 'S256' | 'off'
  readonly validateSignatures: boolean
  readonly useJwksUrl: boolean
  readonly validatingPublicKey: string | undefined
  readonly validatingPublicKeyId: string | undefined
  readonly signatureAlgorithms: readonly string[] | undefined
  readonly storeTokens: boolean
  readonly storedTokensReadable: boolean
  readonly backchannelLogout: boolean
  readonly signOutByServerRequest: boolean
  readonly bearerAudience: readonly string[]
  /** Tenant IDs a multi-tenant Entra ID issuer accepts (empty for every other provider). */
  readonly tenants: readonly string[]
  readonly introspectTokens: boolean
  /** Seconds a token's time claims may be off (iat, nbf, auth_time in the future; exp in the past). */
  readonly clockTolerance: number
  /** Seconds an introspected token's answer is reused. */
  readonly introspectionCacheTtl: number
}

/**
 * The checks across OIDC options, and the values they imply (redirect URLs
 * from the public URL, the client assertion algorithm, the bearer audience).
 */
/** An Entra ID issuer that serves several tenants: its tokens name the tenant's own issuer. */
export const MULTI_TENANT_ENTRA = /^https:\/\/login\.microsoftonline\.com\/(organizations|common)\/v2\.0\/?$/

export function resolveOidcOptions(
  v: OutputOf<typeof oidcOptionFields>,
  context: OptionsContext,
): { options: OidcOptions; issues: FieldIssue[]; warnings: string[] } {
  const issues: FieldIssue[] = []
  const warnings: string[] = []
  const issuer = new URL(v.issuer)
  if (issuer.search || issuer.hash) issues.push({ key: 'issuer', reason: 'must not have a query or fragment' })
  const endpoints = Object.fromEntries(
    Object.entries(v.endpoints as Record<string, string | undefined>).filter(([, url]) => url),
  ) as ProviderEndpoints
  const providerUrls: [string, string | undefined][] = [
    ['issuer', v.issuer],
    ['backchannelUrl', v.backchannelUrl],
    ...Object.entries(endpoints).map(([k, url]) => [`endpoints.${k}`, url] as [string, string]),
  ]
  for (const [key, url] of providerUrls) {
    if (url && new URL(url).protocol !== 'https:' && !isLoopbackUrl(new URL(url))) {
      issues.push({ key, reason: 'must use https (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)' })
    }
  }
  if (!v.discovery) {
    for (const key of ['authorization', 'token'] as const) {
      if (!endpoints[key]) issues.push({ key: `endpoints.${key}`, reason: 'is required when discovery is off' })
    }
  }
  if (!v.scopes.includes('openid')) issues.push({ key: 'scopes', reason: 'must include "openid"' })
  if (MULTI_TENANT_ENTRA.test(v.issuer)) {
    if (v.tenants.length === 0)
      issues.push({
        key: 'tenants',
        reason: 'is required for a multi-tenant Entra ID issuer: list the tenant IDs (tid) whose users may sign in',
      })
    if (!v.discovery) issues.push({ key: 'discovery', reason: 'must be on for a multi-tenant Entra ID issuer' })
  } else if (v.tenants.length > 0) {
    issues.push({
      key: 'tenants',
      reason:
        'applies only to a multi-tenant Entra ID issuer (https://login.microsoftonline.com/organizations/v2.0 or common/v2.0)',
    })
  }
  for (const tenant of v.tenants)
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tenant))
      issues.push({ key: 'tenants', reason: `${JSON.stringify(tenant.slice(0, 60))} is not a tenant ID (a GUID)` })

  const auth = v.clientAuthentication
  const secret = (key: 'clientSecret' | 'clientPrivateKey'): string | undefined => {
    if (v[key] === undefined) return undefined
    try {
      return context.secret(v[key], key)
    } catch (cause) {
      issues.push({ key, reason: (cause as Error).message.replace(`${key}: `, '') })
      return undefined
    }
  }
  const clientSecret = secret('clientSecret')
  const clientPrivateKey = secret('clientPrivateKey')
  const needsSecret = auth === 'client_secret_basic' || auth === 'client_secret_post' || auth === 'client_secret_jwt'
  if (needsSecret && v.clientSecret === undefined)
    issues.push({ key: 'clientSecret', reason: `is required for clientAuthentication ${auth}` })
  if (auth === 'private_key_jwt' && v.clientPrivateKey === undefined)
    issues.push({ key: 'clientPrivateKey', reason: 'is required for clientAuthentication private_key_jwt' })
  if (clientPrivateKey) {
    try {
      const text = clientPrivateKey.trim()
      createPrivateKey(text.startsWith('{') ? { key: JSON.parse(text) as never, format: 'jwk' } : text)
    } catch {
      issues.push({ key: 'clientPrivateKey', reason: 'must be a PEM (PKCS#8) private key or a private JWK' })
    }
  }
  let alg: string | undefined = v.clientAssertionSigningAlg
  if (auth === 'client_secret_jwt') {
    alg ??= 'HS256'
    if (!alg.startsWith('HS'))
      issues.push({ key: 'clientAssertionSigningAlg', reason: 'must be HS256, HS384 or HS512 for client_secret_jwt' })
  } else if (auth === 'private_key_jwt') {
    alg ??= 'RS256'
    if (alg.startsWith('HS'))
      issues.push({ key: 'clientAssertionSigningAlg', reason: 'must be an asymmetric algorithm for private_key_jwt' })
  }
  if (v.pkce === 'off') {
    if (auth === 'none')
      issues.push({ key: 'pkce', reason: 'cannot be off for a public client (clientAuthentication none)' })
    else
      warnings.push(
        'pkce is off: authorization codes of this provider are not bound to the browser that asked for them',
      )
  }
  if (!v.useJwksUrl && v.validateSignatures) {
    if (!v.validatingPublicKey)
      issues.push({ key: 'validatingPublicKey', reason: 'is required when useJwksUrl is off' })
    else {
      try {
        createPublicKey(v.validatingPublicKey)
      } catch {
        issues.push({ key: 'validatingPublicKey', reason: 'must be a PEM public key or certificate' })
      }
    }
  }
  if (!v.validateSignatures) {
    warnings.push(
      'validateSignatures is off: ID tokens are trusted because they come straight from the token endpoint over TLS; every claim is still checked',
    )
    if (v.backchannelLogout)
      issues.push({
        key: 'backchannelLogout',
        reason: 'needs validateSignatures: logout tokens arrive from outside and must be verified',
      })
  }
  if (v.signatureAlgorithms?.some((a) => a.toLowerCase() === 'none'))
    issues.push({ key: 'signatureAlgorithms', reason: 'must not include none' })
  const clockTolerance = durationToSeconds(v.clockTolerance)
  if (clockTolerance > 300) issues.push({ key: 'clockTolerance', reason: 'must be at most 5m' })
  if (v.storedTokensReadable && !v.storeTokens)
    issues.push({ key: 'storedTokensReadable', reason: 'needs storeTokens' })

  const publicUrl = context.publicUrl.replace(/\/+$/, '')
  const options: OidcOptions = {
    issuer: v.issuer,
    discovery: v.discovery,
    endpoints,
    backchannelUrl: v.backchannelUrl,
    clientId: v.clientId,
    clientSecret,
    clientAuthentication: auth,
    clientAssertionSigningAlg: alg,
    clientPrivateKey,
    redirectUrl: v.redirectUrl ?? `${publicUrl}/auth/callback`,
    postLogoutUrl: v.postLogoutUrl ?? `${publicUrl}/auth/signed-out`,
    scopes: v.scopes,
    prompt: v.prompt,
    acceptsPromptNoneForward: v.acceptsPromptNoneForward,
    pkce: v.pkce,
    validateSignatures: v.validateSignatures,
    useJwksUrl: v.useJwksUrl,
    validatingPublicKey: v.validatingPublicKey,
    validatingPublicKeyId: v.validatingPublicKeyId,
    signatureAlgorithms: v.signatureAlgorithms,
    storeTokens: v.storeTokens,
    storedTokensReadable: v.storedTokensReadable,
    backchannelLogout: v.backchannelLogout,
    signOutByServerRequest: v.signOutByServerRequest,
    bearerAudience: v.bearerAudience ?? [v.clientId],
    tenants: v.tenants,
    introspectTokens: v.introspectTokens,
    clockTolerance,
    introspectionCacheTtl: durationToSeconds(v.introspectionCacheTtl),
  }
  return { options, issues, warnings }
}

/** A provider served by the OIDC method. */
export type OidcProvider = ProviderDefinition<OidcOptions>
