import 'reflect-metadata'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { dirname, join } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { toNodeHandler } from 'h3'
import type { DestinationStream } from 'pino'
import { container as rootContainer, type DependencyContainer } from 'tsyringe'
import oidcPlugin from '../plugins/oidc/index.ts'
import claimsPlugin from '../plugins/claims/index.ts'
import userSyncPlugin from '../plugins/user-sync/index.ts'
import flowsPlugin from '../plugins/flows/index.ts'
import devProviderPlugin from '../plugins/dev-provider/index.ts'
import clientCertificatePlugin from '../plugins/client-certificate/index.ts'
import { systemClock, type Clock } from './clock.ts'
import { changedKeys, findConfigFile, loadMainConfig, type ResolvedConfig } from './config/main-config.ts'
import { isLoopbackUrl, strategyTable } from './config/provider-loader.ts'
import { ProviderRegistry, type ProviderSources, type ReloadReport } from './config/provider-registry.ts'
import type { AuthMethod } from './contracts/auth-method.ts'
import type { ClaimMapper } from './contracts/claim-mapper.ts'
import type { FlowStep } from './contracts/flow-step.ts'
import type { AdminAccessCheck, PluginDefinition, PluginServices, PluginSpec } from './contracts/plugin.ts'
import { field, type Fields } from './config/fields.ts'
import { addressUrl, closeServer, listen } from './server.ts'
import { pluginServices } from './plugin-services.ts'
import { TOKENS } from './di/tokens.ts'
import { OtpkiError, isOtpkiError } from './errors.ts'
import type { Claims, ProviderDefinition } from './contracts/provider.ts'
import type { Explanation } from './sign-in-service.ts'
import { CookieJar } from './http/cookies.ts'
import { Csrf } from './http/csrf.ts'
import type { HttpContext } from './http/http-context.ts'
import { createHttpApp, createMetricsApp } from './http/server.ts'
import { clientAddress } from './http/client-address.ts'
import { withHsts } from './http/hsts.ts'
import type { StartGate } from './http/start-gate.ts'
import { addressList, RateLimiter } from './http/rate-limit.ts'
import { createLogger, type Logger } from './logger.ts'
import { registerPlugins, type Registrations } from './plugins.ts'
import { Renderer } from './render/renderer.ts'
import { SessionService } from './sessions/session-service.ts'
import { TokenVault } from './sessions/token-vault.ts'
import { TransactionStore } from './sessions/transaction-store.ts'
import { DEFAULT_MAPPER, SignInService } from './sign-in-service.ts'
import { openDatabase, type Orm } from './store/orm.ts'
import { databaseTarget, type DatabaseTarget } from './store/database.ts'
import { UserDirectory } from './store/user-directory.ts'
import { ChangeFeed } from './store/change-feed.ts'
import { AuditLog } from './audit/audit-log.ts'
import { Metrics } from './observability/metrics.ts'
import { InFlight } from './http/in-flight.ts'

/** The built-in plugins, registered exactly like plugins listed in otpki.config.ts. */
const BUILTIN_PLUGINS: readonly PluginSpec[] = [
  oidcPlugin,
  claimsPlugin,
  flowsPlugin,
  userSyncPlugin,
  clientCertificatePlugin,
]
/** The main-config sections the built-in plugins own (published in the config JSON Schema). */
export function builtinConfigSections(): Fields {
  const sections: Fields = {}
  for (const spec of BUILTIN_PLUGINS) {
    const plugin = spec as PluginDefinition<any, any>
    if (plugin.config) sections[plugin.config.key] = field.object(plugin.config.fields, { doc: plugin.config.doc })
  }
  return sections
}

/** The auth methods, claim mappers and flow steps the built-in plugins register, with their option schemas (for the published JSON Schema). */
export async function builtinExtensions(): Promise<{
  authMethods: AuthMethod<unknown>[]
  mappers: ClaimMapper[]
  flowSteps: FlowStep[]
}> {
  const registrations = await registerPlugins(BUILTIN_PLUGINS, {
    baseDir: process.cwd(),
    dataDir: undefined,
    logger: createLogger('silent'),
    clock: systemClock,
    publicUrl: 'http://localhost',
  })
  return {
    authMethods: registrations.authMethods,
    mappers: registrations.claimMappers.filter((m) => m.name !== DEFAULT_MAPPER),
    flowSteps: registrations.flowSteps,
  }
}

/** Added by `otpki dev`. */
const DEV_PLUGINS: readonly PluginSpec[] = [devProviderPlugin]

export interface AppOptions {
  /** Config file; else OTPKI_CONFIG, else ./otpki.config.ts when present; `false`: none (defaults and overrides only). */
  configFile?: string | false
  /** The embedded default: adds the development provider. */
  dev?: boolean
  /** Values over the config file (below OTPKI_* variables). */
  overrides?: Record<string, unknown>
  env?: NodeJS.ProcessEnv
  clock?: Clock
  /** Where logs go (default: stdout). */
  logDestination?: DestinationStream
  /** Watch provider files and the config file (default true). */
  watch?: boolean
  /** Already listening (see `boot`): the configuration it read, its logger, and the port's server and gate. */
  early?: EarlyStart
}

/** A server that listens before the application is composed: `/healthz` answers while the rest waits. */
export interface EarlyStart {
  readonly config: ResolvedConfig
  readonly logger: Logger
  readonly server: Server
  readonly gate: StartGate
}

/** The configured application, before it opens the database or listens. */
export interface ComposedApp {
  readonly config: ResolvedConfig
  readonly logger: Logger
  readonly container: DependencyContainer
  readonly registrations: Registrations
  readonly registry: ProviderRegistry
}

/** A running OTPKI server. */
export interface RunningApp extends ComposedApp {
  /** The address it listens on, e.g. http://127.0.0.1:3000 */
  readonly url: string
  /** Where the listeners plugins added listen, by name (`mtls`, say). */
  readonly listeners: Readonly<Record<string, string>>
  readonly orm: Orm
  readonly sessions: SessionService
  readonly users: UserDirectory
  /** Changes that affect authentication, between this instance and every other process on the database. */
  readonly feed: ChangeFeed
  /** What plugins' code gets: users, an entity manager, logger, clock. */
  readonly services: PluginServices
  close(): Promise<void>
}

/**
 * The composition root: container -> config -> plugins -> provider registry.
 * Nothing else touches the container.
 */
export async function composeApp(options: AppOptions = {}): Promise<ComposedApp> {
  const env = options.env ?? process.env
  const config =
    options.early?.config ??
    (await loadMainConfig(options.configFile === false ? undefined : findConfigFile(options.configFile, env), {
      env,
      ...(options.overrides ? { overrides: options.overrides } : {}),
    }))
  const logger = options.early?.logger ?? createLogger(config.logLevel, options.logDestination)
  const clock = options.clock ?? systemClock
  const container = rootContainer.createChildContainer()
  container.register(TOKENS.Config, { useValue: config })
  container.register(TOKENS.Logger, { useValue: logger })
  container.register(TOKENS.Clock, { useValue: clock })

  // The development setup first: it adjusts what the built-ins read (a listener with its throwaway CA).
  const specs: PluginSpec[] = [...(options.dev ? DEV_PLUGINS : []), ...BUILTIN_PLUGINS, ...config.plugins]
  const registrations = await registerPlugins(specs, {
    baseDir: config.baseDir,
    dataDir: config.db.kind === 'sqlite' && config.db.file !== ':memory:' ? dirname(config.db.file) : undefined,
    logger,
    clock,
    publicUrl: config.publicUrl,
    sections: config.sections,
    env,
    configLabel: config.file ?? '(defaults)',
  })
  for (const method of registrations.authMethods) container.register(TOKENS.AuthMethod, { useValue: method })
  for (const mapper of registrations.claimMappers) container.register(TOKENS.ClaimMapper, { useValue: mapper })
  for (const step of registrations.flowSteps) container.register(TOKENS.FlowStep, { useValue: step })
  container.register(TOKENS.UserSync, { useValue: registrations.userSync })
  const sources: ProviderSources = {
    dirs: [config.providersDir, ...registrations.providersDirs],
    rules: registrations.providerRules,
    defaults: {
      publicUrl: config.publicUrl,
      sessionMaxInactive: config.sessionMaxInactive,
      sessionMaxLength: config.sessionMaxLength,
      strategies: strategyTable(registrations.authMethods),
      extensions: {
        // The default mapping always runs first; it is not a type to list in mappers.
        mappers: new Map(registrations.claimMappers.filter((m) => m.name !== DEFAULT_MAPPER).map((m) => [m.name, m])),
        flowSteps: new Map(registrations.flowSteps.map((f) => [f.name, f])),
      },
      presets: new Map(registrations.providerPresets.map((p) => [p.name, p])),
    },
  }
  container.register(TOKENS.ProviderSources, { useValue: sources })
  container.registerSingleton(TOKENS.ProviderRegistry, ProviderRegistry)
  const registry = container.resolve<ProviderRegistry>(TOKENS.ProviderRegistry)
  return { config, logger, container, registrations, registry }
}

/** Composes, opens the database (running migrations), loads providers, and listens. */
export async function startApp(options: AppOptions = {}): Promise<RunningApp> {
  const composed = await composeApp(options)
  const { config, logger, container, registrations, registry } = composed
  const stops: (() => Promise<void> | void)[] = []
  try {
    const orm = await openDatabase(config.db, registrations)
    stops.push(() => orm.close())
    registerServices(container, config, orm)

    const cookies = new CookieJar(config.publicUrl, config.forwardAuth.cookieDomain)
    const services = pluginServices(container, orm, registry, cookies)
    for (const hook of registrations.onStart) await hook(services)
    stops.push(async () => {
      for (const hook of [...registrations.onStop].reverse()) await hook()
    })

    const audit = container.resolve<AuditLog>(TOKENS.AuditLog)
    stops.push(() => audit.flush())
    auditReloads(registry, audit)
    const metrics = config.metrics.enabled
      ? new Metrics({
          orm,
          clock: container.resolve<Clock>(TOKENS.Clock),
          sessions: container.resolve<SessionService>(TOKENS.SessionService),
          registry,
        })
      : undefined
    if (metrics) audit.onRecord((entry) => metrics.audited(entry))

    await registry.reload()
    stops.push(() => registry.close())
    if (options.watch !== false) {
      await registry.watch()
      const configWatcher = watchConfigFile(config, options, logger)
      if (configWatcher) stops.push(() => configWatcher.close())
    }

    const sessions = container.resolve<SessionService>(TOKENS.SessionService)
    stops.push(() => sessions.flush())
    stops.push(startHousekeeping(container, logger))
    // Changes other processes make (instances, the CLI) reach these caches within a second.
    const feed = container.resolve<ChangeFeed>(TOKENS.ChangeFeed)
    await feed.listen()
    stops.push(() => feed.close())
    endSessionsOfRevokedProviders(registry, sessions, logger)
    warnAboutConfig(config, logger, Boolean(options.dev))

    const ctx = httpContext(composed, { orm, services, cookies, audit, metrics })
    // An https publicUrl: every response tells browsers to use https only.
    const app = toNodeHandler(createHttpApp(ctx))
    const handler = new URL(config.publicUrl).protocol === 'https:' ? withHsts(app) : app
    let server: Server
    if (options.early) {
      server = options.early.server
      options.early.gate.open(handler)
    } else {
      server = createServer(handler)
      await listen(server, config.port, config.host, logger)
    }
    // Stopping: no new connections, then the requests still being answered finish (5 s at most), then the rest.
    stops.push(async () => {
      await closeServer(server)
      await ctx.inFlight.idle(5_000)
    })
    if (metrics && config.metrics.port > 0) {
      const metricsServer = createServer(toNodeHandler(createMetricsApp(metrics, config.metrics.token)))
      await listen(metricsServer, config.metrics.port, config.host, logger)
      stops.push(() => closeServer(metricsServer))
      logger.info({ url: addressUrl('http', config.host, metricsServer) }, 'metrics listener')
    }
    const listeners: Record<string, string> = {}
    for (const spec of registrations.listeners) {
      const started = await spec.start(handler, { host: config.host })
      stops.push(() => started.close())
      listeners[spec.name] = started.url
      logger.info({ listener: spec.name, url: started.url }, `${spec.name} listener on ${started.url}`)
    }
    watchForLockout(registry, registrations.adminAccess, services, config, logger)
    const url = addressUrl('http', config.host, server)
    logger.info(
      { url, publicUrl: config.publicUrl, providers: registry.list().map((e) => e.definition.name) },
      `OTPKI Sign-in listening on ${url}`,
    )

    let closed = false
    return {
      ...composed,
      url,
      listeners,
      services,
      orm,
      sessions,
      users: container.resolve<UserDirectory>(TOKENS.UserDirectory),
      feed,
      async close() {
        if (closed) return
        closed = true
        for (const stop of stops.reverse()) {
          try {
            await stop()
          } catch (error) {
            logger.warn({ err: error }, 'shutdown step failed')
          }
        }
        logger.flush()
      },
    }
  } catch (error) {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined)
    throw error
  }
}

/** Purges expired sign-ins, sessions and used logout tokens every 10 minutes; returns how to stop. */
function startHousekeeping(container: DependencyContainer, logger: Logger): () => void {
  const sessions = container.resolve<SessionService>(TOKENS.SessionService)
  const transactions = container.resolve<TransactionStore>(TOKENS.TransactionStore)
  const feed = container.resolve<ChangeFeed>(TOKENS.ChangeFeed)
  const audit = container.resolve<AuditLog>(TOKENS.AuditLog)
  const timer = setInterval(() => {
    void Promise.all([transactions.purgeExpired(), sessions.purgeExpired(), feed.purge(), audit.purge()]).catch(
      (error: unknown) => logger.warn({ err: error }, 'housekeeping failed'),
    )
  }, 10 * 60_000)
  timer.unref()
  return () => clearInterval(timer)
}

/** A provider removed, disabled or given another issuer: its sessions end (what plugins cache hears it too). */
function endSessionsOfRevokedProviders(registry: ProviderRegistry, sessions: SessionService, logger: Logger): void {
  registry.onReload(({ revoked }) => {
    for (const name of revoked) {
      void sessions.endByProvider(name).then(
        (ended) =>
          logger.info(
            { provider: name, ended },
            `provider ${name} removed, disabled or its issuer changed: ${ended} sessions ended`,
          ),
        (error: unknown) =>
          logger.error({ err: error, provider: name }, 'could not end the sessions of a revoked provider'),
      )
    }
  })
}

/** Says at start what an operator should change for production. */
function warnAboutConfig(config: ResolvedConfig, logger: Logger, dev: boolean): void {
  const publicUrl = new URL(config.publicUrl)
  if (publicUrl.protocol === 'http:' && !isLoopbackUrl(publicUrl)) {
    logger.warn(
      { publicUrl: config.publicUrl },
      'publicUrl is plain http on a host other than localhost: cookies are not Secure; serve OTPKI over https',
    )
  }
  if (!config.secret)
    logger.info('no secret configured: CSRF tokens use a key made at start (set secret when running several instances)')
  // `otpki dev` is development: the generated file is what it is for.
  if (!dev && !config.tokenEncryptionKey && config.db.kind === 'sqlite' && config.db.file !== ':memory:')
    logger.warn(
      { file: join(dirname(config.db.file), 'token-encryption.key') },
      'tokenEncryptionKey is not set: provider tokens are encrypted with a key generated into a file beside the database, which any copy or backup of the database directory carries with it; set tokenEncryptionKey (OTPKI_TOKEN_ENCRYPTION_KEY) from a secret store',
    )
}

/** What the routes need, assembled from the container and the plugins' registrations. */
function httpContext(
  { config, container, registry, registrations, logger }: ComposedApp,
  {
    orm,
    services,
    cookies,
    audit,
    metrics,
  }: { orm: Orm; services: PluginServices; cookies: CookieJar; audit: AuditLog; metrics: Metrics | undefined },
): HttpContext {
  const clock = container.resolve<Clock>(TOKENS.Clock)
  const trustedProxy = addressList([...config.rateLimit.trustedProxies, ...registrations.trustedProxies])
  return {
    publicUrl: config.publicUrl,
    transactionTtl: config.transactionTtl,
    registry,
    sessions: container.resolve<SessionService>(TOKENS.SessionService),
    transactions: container.resolve<TransactionStore>(TOKENS.TransactionStore),
    signIn: container.resolve<SignInService>(TOKENS.SignInService),
    clock,
    requestAuthenticators: registrations.requestAuthenticators.map((build) => build(services)),
    adminRoles: config.adminRoles,
    renderer: new Renderer(config.templatesDir, registrations.templateDirs),
    csrf: new Csrf(config.secret),
    cookies,
    logger,
    orm,
    limits: {
      signIn: new RateLimiter('sign-in', config.rateLimit.signInPerMinute, clock),
      callback: new RateLimiter('callback', config.rateLimit.callbackPerMinute, clock),
      failedAuth: new RateLimiter('failed authentication', config.rateLimit.failedAuthPerMinute, clock),
    },
    clientAddress: (event) => clientAddress(event, trustedProxy),
    services,
    routes: registrations.routes,
    userFields: registrations.userFields,
    adminSections: registrations.adminSections,
    accountLinks: registrations.accountLinks,
    permissions: config.permissions,
    audit,
    metrics,
    providerFiles: {
      dir: config.providersDir,
      writable: config.providerFilesWritable,
      defaults: container.resolve<ProviderSources>(TOKENS.ProviderSources).defaults,
      canAdministrate: (providers) =>
        canAdministrate(providers, registrations.adminAccess, config.adminRoles, services),
    },
    metricsToken: config.metrics.token,
    forwardAuth: config.forwardAuth,
    metricsOnPublicListener: config.metrics.enabled && config.metrics.port === 0,
    inFlight: new InFlight(),
  }
}

/** Every reload of the provider files in the audit trail: what changed, and each file refused. */
function auditReloads(registry: ProviderRegistry, audit: AuditLog): void {
  registry.onReload((report) => {
    audit.record({
      kind: 'reload',
      outcome: report.issues.length > 0 ? 'failure' : 'success',
      reason: report.issues.length > 0 ? 'PROVIDER_FILE_REJECTED' : undefined,
      actor: 'otpki',
      detail: {
        generation: report.generation,
        providers: report.providers,
        added: report.added,
        changed: report.changed,
        removed: report.removed,
        issues: report.issues.map((i) => ({ file: i.file, key: i.key, reason: i.reason })),
      },
    })
  })
}

/** The database and the services over it, in the container. */
function registerServices(container: DependencyContainer, config: ResolvedConfig, orm: Orm): void {
  container.register(TOKENS.Orm, { useValue: orm })
  const clock = container.resolve<Clock>(TOKENS.Clock)
  const feed = new ChangeFeed(orm, config.db, clock, container.resolve<Logger>(TOKENS.Logger))
  container.register(TOKENS.ChangeFeed, { useValue: feed })
  container.register(TOKENS.UserDirectory, { useValue: new UserDirectory(orm, clock, feed) })
  container.register(TOKENS.AuditLog, {
    useValue: new AuditLog(orm, clock, container.resolve<Logger>(TOKENS.Logger), config.auditRetention * 1000),
  })
  container.register(TOKENS.TokenVault, {
    useValue: config.tokenEncryptionKey
      ? new TokenVault(config.tokenEncryptionKey)
      : config.db.kind !== 'sqlite' || config.db.file === ':memory:'
        ? new TokenVault(randomBytes(32).toString('base64url'))
        : TokenVault.fromKeyFile(join(dirname(config.db.file), 'token-encryption.key')),
  })
  container.registerSingleton(TOKENS.SessionService, SessionService)
  container.registerSingleton(TOKENS.TransactionStore, TransactionStore)
  container.registerSingleton(TOKENS.SignInService, SignInService)
}

/**
 * Runs `work` with what plugins' code gets, over the configured database with
 * every plugin's entities (the `otpki users` commands, plugins' commands).
 */
export async function withServices<T>(
  options: AppOptions,
  work: (services: PluginServices, app: ComposedApp) => Promise<T>,
  composed?: ComposedApp,
): Promise<T> {
  const app = composed ?? (await composeApp({ ...options, watch: false }))
  const opened = await openServices(app)
  try {
    return await work(opened.services, app)
  } finally {
    await opened.close()
    await app.registry.close()
  }
}

/** Opens the configured database (with every plugin's entities) and what plugins' code gets over it, outside a running server. */
export async function openServices(app: ComposedApp): Promise<{ services: PluginServices; close(): Promise<void> }> {
  const orm = await openDatabase(app.config.db, app.registrations)
  registerServices(app.container, app.config, orm)
  const feed = app.container.resolve<ChangeFeed>(TOKENS.ChangeFeed)
  return {
    services: pluginServices(app.container, orm, app.registry),
    // What this process changed is announced to the running instances before the database closes.
    close: async () => {
      await app.container.resolve<AuditLog>(TOKENS.AuditLog).flush()
      await feed.close()
      await orm.close()
    },
  }
}

/**
 * `otpki explain`: a provider's whole chain on sample claims, against the
 * current database, writing nothing. Without a database file yet, against an
 * empty one in memory.
 */
export async function explainClaims(
  options: AppOptions,
  providerName: string,
  claims: Claims,
): Promise<{ provider: ProviderDefinition; explanation: Explanation; database: string }> {
  const composed = await composeApp({ ...options, watch: false })
  const { config, container, registry } = composed
  const current = databaseExists(config.db)
  const database = current ? config.database : ':memory:'
  const orm = await openDatabase(current ? config.db : ':memory:', current ? { migrate: false } : {})
  try {
    registerServices(container, { ...config, database, db: databaseTarget(database, config.baseDir) }, orm)
    const report = await registry.reload({ prepare: false })
    const entry = registry.get(providerName)
    if (!entry) {
      const broken = report.issues
        .filter((i) => i.file.includes(providerName))
        .map((i) => `${i.file}: ${i.key}: ${i.reason}`)
      throw new OtpkiError(
        'PROVIDER_UNKNOWN',
        `no provider named ${providerName}${
          broken.length
            ? `:\n${broken.join('\n')}`
            : ` (providers: ${
                registry
                  .list()
                  .map((e) => e.definition.name)
                  .join(', ') || 'none'
              })`
        }`,
      )
    }
    const explanation = await container
      .resolve<SignInService>(TOKENS.SignInService)
      .explain(entry.definition, { iss: entry.definition.issuer, ...claims })
    return { provider: entry.definition, explanation, database }
  } finally {
    await registry.close()
    await orm.close()
  }
}

/** Said when nobody could administer OTPKI (the reload log and `otpki check`). */
export const LOCKOUT_WARNING =
  'no identity provider can sign anyone in, and no administrator has another way in (such as a client certificate): nobody will be able to administer OTPKI'

/** Whether an administrator can still sign in: a provider that signs people in, or a plugin's other way in. */
export async function canAdministrate(
  providers: readonly ProviderDefinition[],
  checks: readonly AdminAccessCheck[],
  adminRoles: readonly string[],
  services: PluginServices | (() => Promise<PluginServices | undefined>),
): Promise<boolean> {
  if (providers.some((p) => p.enabled && !p.accountLinkingOnly)) return true
  if (checks.length === 0) return false
  const resolved = typeof services === 'function' ? await services() : services
  if (!resolved) return false
  for (const check of checks) if (await check({ ...resolved, adminRoles })) return true
  return false
}

/**
 * When the last identity provider is gone and no administrator holds a client
 * certificate, nobody can administer OTPKI: say so at every such reload.
 */
function watchForLockout(
  registry: ProviderRegistry,
  checks: readonly AdminAccessCheck[],
  services: PluginServices,
  config: ResolvedConfig,
  logger: Logger,
): void {
  const check = async () => {
    const providers = registry.list().map((e) => e.definition)
    if (await canAdministrate(providers, checks, config.adminRoles, services)) return
    logger.warn({ adminRoles: config.adminRoles }, LOCKOUT_WARNING)
  }
  registry.onReload(() => void check().catch(() => undefined))
  void check().catch(() => undefined)
}

/** Logs which changes to the config file need a restart (all of them do, today). */
function watchConfigFile(config: ResolvedConfig, options: AppOptions, logger: Logger): FSWatcher | undefined {
  if (!config.file) return undefined
  const watcher = watch(config.file, {
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 60, pollInterval: 20 },
  })
  watcher.on('change', () => {
    loadMainConfig(config.file, {
      env: options.env ?? process.env,
      ...(options.overrides ? { overrides: options.overrides } : {}),
    }).then(
      (next) => {
        const keys = changedKeys(config, next)
        if (keys.length > 0)
          logger.warn(
            { file: config.file, keys },
            `${config.file} changed (${keys.join(', ')}): restart OTPKI to apply`,
          )
      },
      (error: unknown) =>
        logger.error(
          { file: config.file, reason: isOtpkiError(error) ? error.message : String(error) },
          `${config.file} is invalid; the running configuration stays in force`,
        ),
    )
  })
  return watcher
}

export type { ReloadReport }

/** Whether the configured database holds data already: an SQLite file that exists; a PostgreSQL server is assumed to. */
export function databaseExists(db: DatabaseTarget): boolean {
  return db.kind === 'postgresql' || (db.file !== ':memory:' && existsSync(db.file))
}
