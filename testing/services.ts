import type { H3Event } from 'h3'
import { systemClock, type Clock } from '../core/clock.ts'
import type { PluginServices, ProviderEntry } from '../core/index.ts'
import { createLogger } from '../core/logger.ts'
import { openDatabase, type Orm, type SchemaExtensions } from '../core/store/orm.ts'
import { ChangeFeed } from '../core/store/change-feed.ts'
import { databaseTarget } from '../core/store/database.ts'
import { UserDirectory } from '../core/store/user-directory.ts'
import { AuditLog } from '../core/audit/audit-log.ts'

/** Plugin services over a fresh in-memory database, for contract suites and plugin tests. */
export interface TestServices extends PluginServices {
  readonly orm: Orm
  close(): Promise<void>
}

/**
 * What a plugin's code gets at run time, over a fresh in-memory SQLite
 * database (core's tables and `extensions`), with no providers and no
 * sessions. Close it after the test.
 *
 * @example
 * ```ts
 * const services = await testServices()
 * const authenticator = myAuthenticator(services)
 * await services.close()
 * ```
 */
export async function testServices(
  extensions: SchemaExtensions = {},
  clock: Clock = systemClock,
): Promise<TestServices> {
  const orm = await openDatabase(':memory:', extensions)
  const logger = createLogger('silent')
  const users = new UserDirectory(orm, clock, new ChangeFeed(orm, databaseTarget(':memory:', '/'), clock, logger))
  const none = async () => undefined
  const audit = new AuditLog(orm, clock, logger, 90 * 86_400_000)
  return {
    orm,
    users,
    em: () => orm.em.fork(),
    logger,
    clock,
    providers: { list: (): ProviderEntry[] => [], get: () => undefined, onRevoked: () => undefined },
    identities: {
      find: none,
      resolve: () => Promise.reject(new Error('no sign-in pipeline in testServices')),
      link: () => Promise.reject(new Error('no sign-in pipeline in testServices')),
    },
    sessions: {
      lookup: (_event: H3Event) => Promise.resolve(undefined),
      storedTokens: none,
      replaceTokens: async () => undefined,
      endByLogout: async () => 0,
      useOnce: async () => true,
    },
    audit,
    async close() {
      await audit.flush()
      await orm.close()
    },
  }
}
