import type { AuditLog } from './audit/audit-log.ts'
import type { DependencyContainer } from 'tsyringe'
import type { Clock } from './clock.ts'
import type { ProviderRegistry } from './config/provider-registry.ts'
import type { PluginServices } from './contracts/plugin.ts'
import { TOKENS } from './di/tokens.ts'
import type { CookieJar } from './http/cookies.ts'
import { sessionCookieValue } from './http/http-context.ts'
import type { Logger } from './logger.ts'
import type { SessionService } from './sessions/session-service.ts'
import type { SignInService } from './sign-in-service.ts'
import type { Orm } from './store/orm.ts'
import type { UserDirectory } from './store/user-directory.ts'

/**
 * What plugins' code gets, built once the database is open and the services
 * are in the container. `cookies` finds a request's session (absent in the
 * CLI, where there are no requests).
 */
export function pluginServices(
  container: DependencyContainer,
  orm: Orm,
  registry: ProviderRegistry,
  cookies?: CookieJar,
): PluginServices {
  const sessions = container.resolve<SessionService>(TOKENS.SessionService)
  const signIn = container.resolve<SignInService>(TOKENS.SignInService)
  const revoked = new Set<(name: string) => void>()
  registry.onReload((report) => {
    for (const name of report.revoked) for (const listener of revoked) listener(name)
  })
  return {
    users: container.resolve<UserDirectory>(TOKENS.UserDirectory),
    audit: container.resolve<AuditLog>(TOKENS.AuditLog),
    em: () => orm.em.fork(),
    logger: container.resolve<Logger>(TOKENS.Logger),
    clock: container.resolve<Clock>(TOKENS.Clock),
    providers: {
      list: () => registry.list(),
      get: (name) => registry.get(name),
      onRevoked: (listener) => void revoked.add(listener),
    },
    identities: {
      find: (issuer, subject) => signIn.findUser(issuer, subject),
      resolve: async (provider, result) => (await signIn.resolveUser(provider, result)).user,
      link: (provider, result, userId) => signIn.link(provider, result, userId),
    },
    sessions: {
      lookup: async (event) => (cookies ? sessions.lookup(sessionCookieValue(cookies, event)) : undefined),
      storedTokens: (idHash) => sessions.storedTokens(idHash),
      replaceTokens: (idHash, tokens) => sessions.replaceTokens(idHash, tokens),
      endByLogout: (issuer, subject) => sessions.endByLogout(issuer, subject),
      useOnce: (issuer, jti, expiresAt) => sessions.useLogoutToken(issuer, jti, expiresAt),
    },
  }
}
