/**
 * Every dependency-injection token of OTPKI, in one place. Constructor
 * parameters always name their token with `@inject(TOKEN)`: the build does not
 * emit decorator metadata, so nothing may rely on parameter types.
 */
export const TOKENS = {
  /** The validated main configuration ({@link import('../config/main-schema.ts').ResolvedConfig}). */
  Config: Symbol('otpki.Config'),
  Logger: Symbol('otpki.Logger'),
  Clock: Symbol('otpki.Clock'),
  Orm: Symbol('otpki.Orm'),
  /** Changes that affect authentication, between every process on the database ({@link import('../store/change-feed.ts').ChangeFeed}). */
  ChangeFeed: Symbol('otpki.ChangeFeed'),
  /** Every registered auth method (resolveAll). */
  AuthMethod: Symbol('otpki.AuthMethod'),
  /** Every registered claim mapper (resolveAll). */
  ClaimMapper: Symbol('otpki.ClaimMapper'),
  /** Every registered flow step (resolveAll). */
  FlowStep: Symbol('otpki.FlowStep'),
  /** The user sync in force (the last one registered wins). */
  UserSync: Symbol('otpki.UserSync'),
  ProviderRegistry: Symbol('otpki.ProviderRegistry'),
  /** Provider directories and inherited defaults ({@link import('../config/provider-registry.ts').ProviderSources}). */
  ProviderSources: Symbol('otpki.ProviderSources'),
  SessionService: Symbol('otpki.SessionService'),
  TransactionStore: Symbol('otpki.TransactionStore'),
  SignInService: Symbol('otpki.SignInService'),
  /** Users and their certificates; announces changed users ({@link import('../store/user-directory.ts').UserDirectory}). */
  UserDirectory: Symbol('otpki.UserDirectory'),
  /** Encrypts stored provider tokens ({@link import('../sessions/token-vault.ts').TokenVault}). */
  TokenVault: Symbol('otpki.TokenVault'),
  /** The audit trail ({@link import('../audit/audit-log.ts').AuditLog}). */
  AuditLog: Symbol('otpki.AuditLog'),
} as const
