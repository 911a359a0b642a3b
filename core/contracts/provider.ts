/** Where the default mapping reads each field: claim paths, and which claims. */
export interface ClaimNames {
  readonly source: 'merged' | 'id_token' | 'userinfo'
  /** The claim that keys an identity (with the issuer); `sub` unless set. */
  readonly subject: string
  readonly username: readonly string[]
  readonly firstName: string
  readonly lastName: string
  readonly fullName: string
  readonly email: string
  readonly emailVerified: string
  readonly roles: string
  /** More paths whose roles are added. */
  readonly additionalRoles: readonly string[]
}

/** A mapper or flow step as a provider lists it: its type, and its options. */
export interface ExtensionEntry {
  readonly type: string
  readonly syncMode?: 'force' | 'import' | 'legacy'
  readonly [option: string]: unknown
}

/**
 * A provider as the running server uses it: the envelope every strategy
 * shares, validated, defaults applied, durations in seconds; and the options
 * its strategy owns. Built from a provider file.
 */
export interface ProviderDefinition<O = Readonly<Record<string, unknown>>> {
  readonly name: string
  readonly displayName: string
  readonly displayOrder: number
  /** The icon as the file names it, and as read at load: a data URL for the sign-in page (absent when it could not be read). */
  readonly icon?: { readonly source: string; readonly dataUrl?: string }
  readonly enabled: boolean
  readonly hideOnLoginPage: boolean
  /** The auth-method strategy that serves this provider. */
  readonly strategy: string
  /**
   * Whose identities this provider vouches for, as its strategy names it (an
   * OIDC issuer, for instance). Identities are keyed by issuer and subject; a
   * provider whose issuer changes has its sessions ended.
   */
  readonly issuer: string
  /** The strategy's own keys of the provider file: validated, defaults applied, secrets resolved. */
  readonly options: O
  readonly trustEmail: boolean
  readonly accountLinkingOnly: boolean
  readonly claims: ClaimNames
  /** Split the full name when neither first nor last name is sent. */
  readonly splitFullName: boolean
  /** A sign-in without the roles claim: keep the roles, or clear them. */
  readonly absentRoles: 'keep' | 'clear'
  /** The preset the file named, and the keys that came from it (`claims.roles`, `scopes`, ...). */
  readonly preset?: { readonly name: string; readonly keys: readonly string[] }
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
