/** Endpoints given by hand (discovery off) or overriding discovered ones. */
export interface ProviderEndpoints {
  readonly authorization?: string
  readonly token?: string
  readonly userinfo?: string
  readonly endSession?: string
  readonly jwks?: string
  readonly introspection?: string
}

/** Where the default mapping reads each field: claim paths, and which claims. */
export interface ClaimNames {
  readonly source: 'merged' | 'id_token' | 'userinfo'
  readonly username: readonly string[]
  readonly firstName: string
  readonly lastName: string
  readonly email: string
  readonly emailVerified: string
  readonly roles: string
}

/** A mapper or flow step as a provider lists it: its type, and its options. */
export interface ExtensionEntry {
  readonly type: string
  readonly syncMode?: 'force' | 'import' | 'legacy'
  readonly [option: string]: unknown
}

export type ClientAuthentication =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none'

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
  readonly trustEmail: boolean
  readonly accountLinkingOnly: boolean
  readonly storeTokens: boolean
  readonly storedTokensReadable: boolean
  readonly backchannelLogout: boolean
  readonly bearerAudience: readonly string[]
  readonly introspectTokens: boolean
  /** Seconds a token's time claims may be off (iat, nbf, auth_time in the future; exp in the past). */
  readonly clockTolerance: number
  /** Seconds an introspected token's answer is reused. */
  readonly introspectionCacheTtl: number
  readonly claims: ClaimNames
  readonly mappers: readonly ExtensionEntry[]
  readonly syncMode: 'force' | 'import' | 'legacy'
  /** `all`: the roles claim sets all of a user's roles; `provider`: only those that came from this provider. */
  readonly roleSyncScope: 'all' | 'provider'
  /** A new identity whose username is taken: `refuse`, or `suffix` (alice-2, alice-3, ...). */
  readonly usernameCollision: 'refuse' | 'suffix'
  readonly firstLoginFlow: readonly ExtensionEntry[]
  readonly postLoginFlow: readonly ExtensionEntry[]
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
