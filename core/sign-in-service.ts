import { inject, injectable, injectAll } from 'tsyringe'
import type { Clock } from './clock.ts'
import type { AuthResult } from './contracts/auth-method.ts'
import type { ClaimMapper, MappedIdentity } from './contracts/claim-mapper.ts'
import type { ProviderDefinition } from './contracts/provider.ts'
import type { StoredUser, UserSync } from './contracts/user-sync.ts'
import { TOKENS } from './di/tokens.ts'
import { OtpkiError } from './errors.ts'
import type { Logger } from './logger.ts'
import type { SessionService } from './sessions/session-service.ts'
import type { Orm } from './store/orm.ts'
import { OrmUserStore } from './store/user-store.ts'

/** The name of the built-in mapper that always runs first. */
export const DEFAULT_MAPPER = 'otpki-default'

/**
 * Turns a provider's authentication result into an OTPKI session: claim
 * mapping, user sync in one database transaction, then a fresh session.
 */
@injectable()
export class SignInService {
  constructor(
    @inject(TOKENS.Orm) private readonly orm: Orm,
    @injectAll(TOKENS.ClaimMapper) private readonly mappers: ClaimMapper[],
    @inject(TOKENS.UserSync) private readonly userSync: UserSync,
    @inject(TOKENS.SessionService) private readonly sessions: SessionService,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  /** Maps the claims and syncs the user (created or refreshed), in one database transaction. */
  async resolveUser(provider: ProviderDefinition, result: Pick<AuthResult, 'claims' | 'idTokenClaims' | 'userinfo'>): Promise<{ user: StoredUser; identity: MappedIdentity }> {
    if (provider.accountLinkingOnly) {
      throw new OtpkiError('LINKING_ONLY', `provider ${provider.name} is accountLinkingOnly`, {
        status: 403,
        publicMessage: `${provider.displayName} cannot be used to sign in; once signed in, you can link it to your account.`,
      })
    }
    const identity = await this.map(provider, result as AuthResult)
    const user = await this.orm.em.fork().transactional((em) => this.userSync.sync(identity, provider, new OrmUserStore(em, this.clock)))
    this.sessions.invalidateUser(user.id)
    return { user, identity }
  }

  /** The user an identity belongs to, without changing anything. */
  async findUser(issuer: string, subject: string): Promise<StoredUser | undefined> {
    return new OrmUserStore(this.orm.em.fork(), this.clock).findByIdentity(issuer, subject)
  }

  /**
   * Attaches the identity of `result` to the signed-in user. An identity that
   * belongs to another account is refused: linking never merges accounts.
   */
  async link(provider: ProviderDefinition, result: AuthResult, userId: number): Promise<void> {
    const identity = await this.map(provider, result)
    await this.orm.em.fork().transactional(async (em) => {
      const store = new OrmUserStore(em, this.clock)
      const owner = await store.findByIdentity(identity.issuer, identity.subject)
      if (owner && owner.id !== userId) {
        throw new OtpkiError('IDENTITY_LINKED', `identity ${identity.issuer} / ${identity.subject} belongs to user ${owner.id}`, {
          status: 409,
          publicMessage: `This ${provider.displayName} account is already linked to another OTPKI account. Accounts are never merged; please contact an administrator.`,
        })
      }
      if (!owner) await store.linkIdentity(userId, { issuer: identity.issuer, subject: identity.subject, provider: provider.name })
    })
    this.logger.info({ provider: provider.name, userId, subject: identity.subject }, 'identity linked')
  }

  /** Maps the claims and syncs the user; all or nothing. */
  async signIn(provider: ProviderDefinition, result: AuthResult): Promise<{ user: StoredUser; sessionId: string; expiresAt: number }> {
    const { user, identity } = await this.resolveUser(provider, result)
    const session = await this.sessions.create({
      user,
      method: provider.strategy,
      provider: provider.name,
      maxInactive: provider.sessionMaxInactive,
      maxLength: provider.sessionMaxLength,
      idToken: result.idToken,
      issuer: identity.issuer,
      subject: identity.subject,
      sid: result.sid,
      tokens: provider.storeTokens ? result.tokens : undefined,
    })
    this.logger.info({ provider: provider.name, user: user.username, subject: identity.subject }, 'signed in')
    return { user, sessionId: session.id, expiresAt: session.expiresAt }
  }

  /** Runs the claim-mapper chain and checks the result is a whole identity. */
  async map(provider: ProviderDefinition, result: AuthResult): Promise<MappedIdentity> {
    const chain = this.mappers.filter((m) => m.name === DEFAULT_MAPPER)
    if (chain.length === 0) throw new OtpkiError('INTERNAL', `no "${DEFAULT_MAPPER}" claim mapper is registered`)
    let identity: Partial<MappedIdentity> = {}
    const input = { claims: result.claims, idTokenClaims: result.idTokenClaims, userinfo: result.userinfo, provider }
    for (const mapper of chain) identity = await mapper.map(input, identity)
    for (const key of ['issuer', 'subject', 'username'] as const) {
      if (typeof identity[key] !== 'string' || identity[key] === '') {
        throw new OtpkiError('CLAIM_MISSING', `the mapped identity has no ${key}`, {
          publicMessage: `The identity provider did not send what OTPKI needs (${key}). Please contact an administrator.`,
        })
      }
    }
    return {
      issuer: identity.issuer!,
      subject: identity.subject!,
      username: identity.username!,
      firstName: identity.firstName,
      lastName: identity.lastName,
      email: identity.email,
      emailVerified: identity.emailVerified ?? false,
      roles: identity.roles,
      attributes: identity.attributes ?? {},
    }
  }
}
