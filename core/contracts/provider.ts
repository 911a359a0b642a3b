/**
 * A provider as the running server uses it: validated, defaults applied,
 * durations in seconds, secrets resolved. Built from a provider file.
 */
export interface ProviderDefinition {
  readonly name: string
  readonly displayName: string
  readonly displayOrder: number
  readonly enabled: boolean
  readonly hideOnLoginPage: boolean
  /** The auth-method strategy that serves this provider. */
  readonly strategy: 'oidc'
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly clientAuthentication: 'client_secret_basic' | 'client_secret_post'
  readonly redirectUrl: string
  readonly postLogoutUrl: string
  readonly scopes: readonly string[]
  /** Seconds. */
  readonly sessionMaxInactive: number
  /** Seconds. */
  readonly sessionMaxLength: number
  readonly createUnknownUsers: boolean
  readonly createUnknownRoles: boolean
  /** The file it came from. */
  readonly source: string
}

/** Claims as received from a provider (ID token, userinfo, or both merged). */
export type Claims = Readonly<Record<string, unknown>>
