import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EntityManager, EntitySchema, MigrationObject } from '@mikro-orm/core'
import type { H3Event } from 'h3'
import type { Clock } from '../clock.ts'
import type { AuditRecorder } from '../audit/audit-log.ts'
import type { Permission } from '../config/main-config.ts'
import type { ProviderEntry } from '../config/provider-registry.ts'
import type { ActiveSession, Principal } from '../sessions/session-service.ts'
import type { AuthResult, LogoutSubject, ProviderTokens } from './auth-method.ts'
import type { ProviderDefinition } from './provider.ts'
import type { StoredUser } from './user-sync.ts'
import type { UserDirectory } from '../store/user-directory.ts'
import type { Logger } from '../logger.ts'
import type { AuthMethod } from './auth-method.ts'
import type { Fields } from '../config/fields.ts'
import type { ClaimMapper } from './claim-mapper.ts'
import type { FlowStep } from './flow-step.ts'
import type { RequestAuthenticatorFactory } from './request-authenticator.ts'
import type { UserSync } from './user-sync.ts'

export type PluginKind = 'auth-method' | 'claim-mapper' | 'user-sync' | 'flow-step' | 'service'

/** A listener a plugin adds beside the main HTTP server (an mTLS port, say), serving the same routes. */
export interface ListenerSpec {
  readonly name: string
  /** Starts listening with OTPKI's request handler; resolves with where it listens and how to stop. */
  start(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    main: { readonly host: string },
  ): Promise<{ url: string; close(): Promise<void> }>
}

/**
 * Whether an administrator can still sign in through this plugin's method
 * when no identity provider can (a client certificate held by an
 * administrator, say): OTPKI warns when no plugin answers yes.
 */
export type AdminAccessCheck = (
  context: PluginServices & { readonly adminRoles: readonly string[] },
) => Promise<boolean>

/** The providers in force, as plugins see them. */
export interface ProviderDirectory {
  list(): readonly ProviderEntry[]
  get(name: string): ProviderEntry | undefined
  /** Called with a provider's name when it is removed, disabled or changes its issuer: what it vouched for no longer counts. */
  onRevoked(listener: (name: string) => void): void
}

/** The sign-in pipeline's user side, for credentials that are not a sign-in (a bearer token, say). */
export interface IdentityDirectory {
  /** The user an identity belongs to, changing nothing. */
  find(issuer: string, subject: string): Promise<StoredUser | undefined>
  /** Maps the claims and syncs the user as a sign-in would (mappers, flows, user sync), without a session. */
  resolve(
    provider: ProviderDefinition,
    result: Pick<AuthResult, 'claims' | 'idTokenClaims' | 'userinfo' | 'issuer'>,
  ): Promise<StoredUser>
  /**
   * Attaches the identity a provider vouches for (its claims, mapped) to an
   * existing user, so that a later sign-in with it is that user. Refused when
   * the identity belongs to another user: accounts are never merged.
   */
  link(
    provider: ProviderDefinition,
    result: Pick<AuthResult, 'claims' | 'idTokenClaims' | 'userinfo' | 'issuer'>,
    userId: number,
  ): Promise<void>
}

/** Sessions, as plugins may touch them. */
export interface SessionAccess {
  /** The active session a request's cookie names, or undefined. */
  lookup(event: H3Event): Promise<ActiveSession | undefined>
  storedTokens(idHash: string): Promise<ProviderTokens | undefined>
  replaceTokens(idHash: string, tokens: ProviderTokens): Promise<void>
  /** Ends the sessions of an issuer's session id, or of an issuer's subject. Returns how many ended. */
  endByLogout(issuer: string, subject: LogoutSubject): Promise<number>
  /** Records a one-time token (issuer, jti) until it expires; false when it was used before. */
  useOnce(issuer: string, jti: string, expiresAt: number): Promise<boolean>
}

/** What a plugin's code gets once the database is open (request authenticators, routes, commands). */
export interface PluginServices {
  readonly users: UserDirectory
  /** A fresh entity manager over the database, the plugin's own entities included. */
  em(): EntityManager
  readonly logger: Logger
  readonly clock: Clock
  readonly providers: ProviderDirectory
  readonly identities: IdentityDirectory
  readonly sessions: SessionAccess
  /** The audit trail: record an administrative or CLI action with who did what to whom. */
  readonly audit: AuditRecorder
}

/** What a route handler gets besides the request. */
export interface RouteServices extends PluginServices {
  /**
   * The caller, who must hold one of `adminRoles` (by any sign-in method);
   * with `changes`, a session-authenticated call must come from OTPKI's own origin.
   */
  requireAdmin(event: H3Event, options: { changes: boolean }): Promise<Principal>
  /** The caller, who must hold the permission (its roles in `permissions`, or `adminRoles`). */
  requirePermission(event: H3Event, permission: Permission, options: { changes: boolean }): Promise<Principal>
  /** The signed-in caller (by any method); with `changes`, a session-authenticated call must come from OTPKI's own origin. */
  requireUser(event: H3Event, options: { changes: boolean }): Promise<Principal>
  /**
   * A page: a template of the plugin's (see {@link PluginContext.templates})
   * or OTPKI's, inside OTPKI's layout. With `scripts`, the page may load
   * scripts from OTPKI's own origin and fetch from it (every other page loads none).
   */
  render(template: string, data: Record<string, unknown>, options?: PageOptions): Response
}

/** How a plugin's page is answered. */
export interface PageOptions {
  readonly status?: number
  readonly scripts?: boolean
}

/** An HTTP route a plugin adds. Errors it throws are answered as JSON by the edge. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** h3 route syntax: `/admin/users/:username/certificates`. */
  readonly path: string
  /** How an error it throws is answered: JSON (the default) or, for a page a browser opens, an error page. */
  readonly answers?: 'json' | 'page'
  handler(event: H3Event, services: RouteServices): Promise<Response> | Response
}

/**
 * A link a plugin adds to the signed-in page (`GET /`): to a page of its own
 * where users manage what it keeps for them (their passkeys, say).
 */
export interface AccountLinkSpec {
  readonly label: string
  /** A path of OTPKI's: `/auth/passkeys`. */
  readonly path: string
  /** One line beside the link; a promise, it may look the user up. Without it, none. */
  note?(user: StoredUser, services: PluginServices): Promise<string | undefined>
  /** Whether this user sees the link; without it, every user does. */
  shown?(user: StoredUser): boolean
  /**
   * Whether this user must visit the page now (register a passkey, say): a
   * browser sign-in then goes there first, with `?returnTo=` the address it
   * was going to, as a required action does.
   */
  required?(user: StoredUser, services: PluginServices): Promise<boolean>
}

/** An `otpki` command a plugin adds, such as `users attach-cert <username> <file>`. */
export interface CommandSpec {
  /** The words that name it: `users attach-cert`. */
  readonly name: string
  /** Its positional arguments, in order. */
  readonly arguments: readonly string[]
  readonly description: string
  action(args: readonly string[], services: PluginServices & { print(line: string): void }): Promise<void>
}

/** A column a plugin adds to user lists (`GET /admin/users`, `otpki users list`), by user id. */
export interface UserFieldSpec {
  /** The key in `GET /admin/users`. */
  readonly name: string
  /** The column header in `otpki users list`. */
  readonly header: string
  /** The values by user id: of every user, or of `userIds` only when given (a page of the console). */
  values(services: PluginServices, userIds?: readonly number[]): Promise<ReadonlyMap<number, string | number>>
}

/**
 * A section a plugin adds to a user's console page (client certificates, say):
 * a table of what the user holds, optionally with a file to add and a way to
 * remove a row. The console checks the permission and the CSRF token, and
 * records each change in the audit trail as `NAME.add` or `NAME.remove`.
 */
export interface AdminSectionSpec {
  /** A short name, in URLs and audit reasons (`certificates`). */
  readonly name: string
  readonly title: string
  /** Who may see and change it. */
  readonly permission: Permission
  readonly columns: readonly { readonly key: string; readonly label: string }[]
  /** The user's rows: an id (what `remove` gets) and a text per column. */
  rows(user: StoredUser, services: PluginServices): Promise<{ id: string; cells: Record<string, string> }[]>
  /** Adds from an uploaded file (its bytes), answering what to record in the audit trail. */
  readonly add?: {
    readonly label: string
    /** The file input's `accept`, for example `.pem,.crt,.cer,.der`. */
    readonly accept: string
    run(user: StoredUser, file: Uint8Array, services: PluginServices): Promise<Record<string, unknown>>
  }
  readonly remove?: {
    readonly label: string
    run(user: StoredUser, id: string, services: PluginServices): Promise<void>
  }
}

/**
 * A rule between providers: two providers whose `uniqueBy` values are equal
 * conflict. The one already in force keeps its place; otherwise both are
 * refused (`both`, the default) or only the later one (`later`).
 */
export interface ProviderRule {
  /** The provider key an issue names. */
  readonly key: string
  uniqueBy(provider: ProviderDefinition): string | undefined
  /** Why the provider is refused, given the one it conflicts with. */
  reason(other: ProviderDefinition): string
  readonly refuses?: 'both' | 'later'
}

/**
 * A preset: the keys a kind of provider needs (scopes, claim paths,
 * options), which a provider file names with `preset`. Keys the file states
 * itself win; `claims` is merged key by key.
 */
export interface ProviderPreset {
  /** `keycloak`, `entra-id`, ... */
  readonly name: string
  /** The strategy it is for (the file's, or the default one). */
  readonly strategy: string
  /** One line for the docs and `otpki explain`. */
  readonly doc: string
  /** The keys it sets, from the file as given (a preset may read `clientId`, say). */
  keys(file: Readonly<Record<string, unknown>>): Record<string, unknown>
  /** Whether an issuer looks like this kind of provider (`otpki providers import`). */
  recognises?(issuer: string): boolean
}

/** What a plugin's `register` hook may do. It never sees the container. */
export interface PluginContext<Options = Record<string, unknown>, Config = Record<string, unknown>> {
  readonly options: Options
  /** Its section of the main configuration (`config.key`), validated, defaults applied; undefined without one. */
  readonly config: Config
  readonly logger: Logger
  readonly clock: Clock
  /** The public URL of this OTPKI instance. */
  readonly publicUrl: string
  /** The directory relative paths in the configuration are resolved against. */
  readonly baseDir: string
  /** Where the database lives (a directory for files a plugin keeps beside it); undefined for an in-memory database. */
  readonly dataDir: string | undefined
  /** Adds a listener beside the main HTTP server. */
  listener(spec: ListenerSpec): void
  /** Proxies in front of OTPKI: their X-Forwarded-For names the client (rate limits). */
  addTrustedProxies(addresses: readonly string[]): void
  /** Tells whether an administrator can sign in through this plugin (the lock-out warning). */
  adminAccess(check: AdminAccessCheck): void
  /** Its entities (MikroORM `defineEntity`) and the migrations that create their tables; names are recorded in the database, keep them stable. */
  entities(list: readonly EntitySchema<any, any>[], migrations: readonly MigrationObject[]): void
  /** Adds an HTTP route. */
  route(spec: RouteSpec): void
  /** Adds an `otpki` command. */
  command(spec: CommandSpec): void
  /** Adds a column to user lists. */
  userField(spec: UserFieldSpec): void
  /** Adds a section to each user's page in the console. */
  adminSection(spec: AdminSectionSpec): void
  /** Adds a link to the signed-in page. */
  accountLink(spec: AccountLinkSpec): void
  /**
   * A directory of Eta templates its pages render (`services.render`); an
   * operator's template of the same name (`templatesDir`) still wins.
   */
  templates(dir: string): void
  /** Adds a rule between providers (two providers with one issuer conflict, say). */
  providerRule(rule: ProviderRule): void
  /** Adds a provider preset (`preset: 'keycloak'` in a provider file). */
  providerPreset(preset: ProviderPreset): void
  /**
   * Adjusts another plugin's config section before that plugin reads it (the
   * development setup turning on a listener with its throwaway CA, say). Only
   * plugins registered after this one see the change.
   */
  adjustSection(key: string, adjust: (raw: Readonly<Record<string, unknown>>) => Record<string, unknown>): void
  registerAuthMethod(method: AuthMethod<any>): void
  registerClaimMapper(mapper: ClaimMapper): void
  registerUserSync(sync: UserSync): void
  registerFlowStep(step: FlowStep): void
  /** A per-request authenticator (client certificates, say), built once the database is open. */
  registerRequestAuthenticator(factory: RequestAuthenticatorFactory): void
  /** Adds a directory of provider files, watched like the main one. */
  addProvidersDir(dir: string): void
  /** Runs once the database is open, before providers load and the server listens, with what plugins' code gets. */
  onStart(hook: (services: PluginServices) => Promise<void> | void): void
  /** Runs at shutdown, in reverse order. */
  onStop(hook: () => Promise<void> | void): void
}

/** A plugin: data plus one `register` hook. */
export interface PluginDefinition<Options = Record<string, unknown>, Config = Record<string, unknown>> {
  readonly name: string
  readonly kind: PluginKind
  /** The options it takes in `plugins: [[plugin, options]]`, validated at load. */
  readonly optionsSchema?: Fields
  /**
   * A section of the main configuration it owns (`clientCertificate: {...}` in
   * `otpki.config.ts`, with its `OTPKI_*` variables), validated before
   * `register` and given as `context.config`.
   */
  readonly config?: { readonly key: string; readonly fields: Fields; readonly doc: string }
  register(context: PluginContext<Options, Config>): void | Promise<void>
}

/** How `otpki.config.ts` names a plugin: the object, a module path or package name, optionally with options. */
export type PluginSpec =
  | PluginDefinition<any>
  | string
  | readonly [PluginDefinition<any> | string, Record<string, unknown>]

/**
 * Types a plugin; returns its argument unchanged.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'department-roles',
 *   kind: 'claim-mapper',
 *   register(ctx) {
 *     ctx.registerClaimMapper({ name: 'department-roles', map: (input, identity) => identity })
 *   },
 * })
 * ```
 */
export function definePlugin<Options = Record<string, unknown>, Config = Record<string, unknown>>(
  plugin: PluginDefinition<Options, Config>,
): PluginDefinition<Options, Config> {
  return plugin
}
