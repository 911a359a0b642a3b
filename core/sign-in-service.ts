import { inject, injectable, injectAll } from 'tsyringe'
import { mappingInput, providerChain, providerFlow, runChain, runFlow } from './claims/chain.ts'
import type { Clock } from './clock.ts'
import type { AuthResult } from './contracts/auth-method.ts'
import type { ClaimMapper, MappedIdentity } from './contracts/claim-mapper.ts'
import type { FlowStep } from './contracts/flow-step.ts'
import type { Claims, ProviderDefinition } from './contracts/provider.ts'
import type { StoredUser, UserSync } from './contracts/user-sync.ts'
import { TOKENS } from './di/tokens.ts'
import { OtpkiError } from './errors.ts'
import { checkIdentity } from './identity/identity-limits.ts'
import type { Logger } from './logger.ts'
import type { SessionService } from './sessions/session-service.ts'
import type { Orm } from './store/orm.ts'
import type { UserDirectory } from './store/user-directory.ts'
import { inTransaction } from './store/transaction.ts'
import { OrmUserStore } from './store/user-store.ts'
import type { AuditRecorder } from './audit/audit-log.ts'

export { DEFAULT_MAPPER } from './claims/chain.ts'

type ClaimsResult = Pick<AuthResult, 'claims' | 'idTokenClaims' | 'userinfo' | 'issuer'>

/** What `otpki explain` shows: the identity, who set each field, and what sync would do. */
export interface Explanation {
  identity: MappedIdentity
  firstLogin: boolean
  existing: StoredUser | undefined
  user: StoredUser | undefined
  refused: string | undefined
}

/** Thrown inside the explain transaction to roll it back. */
class DryRun extends Error {
  constructor(readonly result: StoredUser) {
    super('dry run')
  }
}

/**
 * Turns a provider's authentication result into an OTPKI session: claim
 * mapping, flows and user sync in one database transaction, then a fresh session.
 */
@injectable()
export class SignInService {
  private readonly mappers: ReadonlyMap<string, ClaimMapper>
  private readonly flowSteps: ReadonlyMap<string, FlowStep>

  constructor(
    @inject(TOKENS.Orm) private readonly orm: Orm,
    @injectAll(TOKENS.ClaimMapper) mappers: ClaimMapper[],
    @injectAll(TOKENS.FlowStep, { isOptional: true }) flowSteps: FlowStep[],
    @inject(TOKENS.UserSync) private readonly userSync: UserSync,
    @inject(TOKENS.SessionService) private readonly sessions: SessionService,
    @inject(TOKENS.UserDirectory) private readonly users: UserDirectory,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.AuditLog) private readonly audit: AuditRecorder,
  ) {
    this.mappers = new Map(mappers.map((m) => [m.name, m]))
    this.flowSteps = new Map((flowSteps ?? []).map((f) => [f.name, f]))
  }

  /** Runs the provider's claim-mapper chain: the default mapping, then its `mappers`. */
  async map(provider: ProviderDefinition, result: ClaimsResult): Promise<MappedIdentity> {
    return runChain(providerChain(provider, this.mappers), mappingInput(provider, result))
  }

  /** Maps the claims, runs the flows and syncs the user (created or refreshed), in one database transaction. */
  async resolveUser(
    provider: ProviderDefinition,
    result: ClaimsResult,
  ): Promise<{ user: StoredUser; identity: MappedIdentity }> {
    this.refuseLinkingOnly(provider)
    const mapped = await this.map(provider, result)
    let store: OrmUserStore | undefined
    const { user, identity } = await inTransaction(this.orm, (em) => {
      store = new OrmUserStore(em, this.clock)
      return this.syncWithFlows(provider, result, mapped, store)
    })
    // A sign-in that changed nothing about the user leaves every cache of it valid.
    if (store?.wrote) this.users.changed(user.id)
    return { user, identity }
  }

  /**
   * The whole chain on sample claims (mapping, mappers, flows, sync decision)
   * against the current database, writing nothing: the transaction is rolled back.
   */
  async explain(provider: ProviderDefinition, claims: Claims): Promise<Explanation> {
    const result = { claims, idTokenClaims: claims, userinfo: undefined }
    const identity = await this.map(provider, result)
    const em = this.orm.em.fork()
    const existing = await new OrmUserStore(em, this.clock).findByIdentity(identity.issuer, identity.subject)
    try {
      this.refuseLinkingOnly(provider)
      await inTransaction(this.orm, async (tx) => {
        const { user } = await this.syncWithFlows(provider, result, identity, new OrmUserStore(tx, this.clock))
        throw new DryRun(user)
      })
    } catch (error) {
      if (error instanceof DryRun)
        return { identity, firstLogin: !existing, existing, user: error.result, refused: undefined }
      if (error instanceof OtpkiError)
        return {
          identity,
          firstLogin: !existing,
          existing,
          user: undefined,
          refused: `${error.code}: ${error.publicMessage ?? error.message}`,
        }
      throw error
    }
    throw new OtpkiError('INTERNAL', 'explain ended without a result')
  }

  private async syncWithFlows(
    provider: ProviderDefinition,
    result: ClaimsResult,
    mapped: MappedIdentity,
    store: OrmUserStore,
  ) {
    const existing = await store.findByIdentity(mapped.issuer, mapped.subject)
    const input = { ...mappingInput(provider, result), user: existing, firstLogin: !existing }
    let identity = existing
      ? mapped
      : await runFlow(providerFlow(provider, 'firstLoginFlow', this.flowSteps), input, mapped)
    identity = checkIdentity(await runFlow(providerFlow(provider, 'postLoginFlow', this.flowSteps), input, identity))
    return { user: await this.userSync.sync(identity, provider, store), identity, firstLogin: !existing }
  }

  private refuseLinkingOnly(provider: ProviderDefinition): void {
    if (provider.accountLinkingOnly) {
      throw new OtpkiError('LINKING_ONLY', `provider ${provider.name} is accountLinkingOnly`, {
        publicMessage: `${provider.displayName} cannot be used to sign in; once signed in, you can link it to your account.`,
      })
    }
  }

  /** The user an identity belongs to, without changing anything. */
  async findUser(issuer: string, subject: string): Promise<StoredUser | undefined> {
    return new OrmUserStore(this.orm.em.fork(), this.clock).findByIdentity(issuer, subject)
  }

  /**
   * Attaches the identity of `result` to the signed-in user. An identity that
   * belongs to another account is refused: linking never merges accounts.
   */
  async link(provider: ProviderDefinition, result: ClaimsResult, userId: number): Promise<void> {
    const identity = await this.map(provider, result)
    await inTransaction(this.orm, async (em) => {
      const store = new OrmUserStore(em, this.clock)
      const owner = await store.findByIdentity(identity.issuer, identity.subject)
      if (owner && owner.id !== userId) {
        throw new OtpkiError(
          'IDENTITY_LINKED',
          `identity ${identity.issuer} / ${identity.subject} belongs to user ${owner.id}`,
          {
            publicMessage: `This ${provider.displayName} account is already linked to another OTPKI account. Accounts are never merged; please contact an administrator.`,
          },
        )
      }
      if (!owner)
        await store.linkIdentity(userId, {
          issuer: identity.issuer,
          subject: identity.subject,
          provider: provider.name,
        })
    })
    this.logger.info({ provider: provider.name, userId, subject: identity.subject }, 'identity linked')
  }

  /** Maps the claims, runs the flows, syncs the user and starts a fresh session, in one database transaction. */
  async signIn(
    provider: ProviderDefinition,
    result: AuthResult,
  ): Promise<{ user: StoredUser; sessionId: string; expiresAt: number }> {
    this.refuseLinkingOnly(provider)
    const mapped = await this.map(provider, result)
    let store: OrmUserStore | undefined
    const { user, identity, session, ...synced } = await inTransaction(this.orm, async (em) => {
      store = new OrmUserStore(em, this.clock)
      const synced = await this.syncWithFlows(provider, result, mapped, store)
      const session = await this.sessions.create({
        user: synced.user,
        method: provider.strategy,
        provider: provider.name,
        maxInactive: provider.sessionMaxInactive,
        maxLength: provider.sessionMaxLength,
        idToken: result.idToken,
        issuer: synced.identity.issuer,
        subject: synced.identity.subject,
        sid: result.sid,
        tokens: result.tokens,
        em,
      })
      return { ...synced, session }
    })
    if (store?.wrote) this.users.changed(user.id)
    this.audit.record({
      kind: 'sign-in',
      outcome: 'success',
      username: user.username,
      provider: provider.name,
      method: provider.strategy,
      // What the mappers and the sync decided.
      detail: {
        subject: identity.subject,
        firstLogin: synced.firstLogin,
        changed: store?.wrote ?? false,
        roles: user.roles,
        mapped: { username: identity.username, email: identity.email ?? null, roles: identity.roles ?? null },
      },
    })
    return { user, sessionId: session.id, expiresAt: session.expiresAt }
  }
}
