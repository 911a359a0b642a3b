import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { AuthMethod } from './auth-method.ts'
import type { Fields } from '../config/fields.ts'
import type { ClaimMapper } from './claim-mapper.ts'
import type { FlowStep } from './flow-step.ts'
import type { RequestAuthenticatorFactory } from './request-authenticator.ts'
import type { UserSync } from './user-sync.ts'

export type PluginKind = 'auth-method' | 'claim-mapper' | 'user-sync' | 'flow-step' | 'service'

/** What a plugin's `register` hook may do. It never sees the container. */
export interface PluginContext<Options = Record<string, unknown>> {
  readonly options: Options
  readonly logger: Logger
  readonly clock: Clock
  /** The public URL of this OTPKI instance. */
  readonly publicUrl: string
  registerAuthMethod(method: AuthMethod<any>): void
  registerClaimMapper(mapper: ClaimMapper): void
  registerUserSync(sync: UserSync): void
  registerFlowStep(step: FlowStep): void
  /** A per-request authenticator (client certificates, say), built once the database is open. */
  registerRequestAuthenticator(factory: RequestAuthenticatorFactory): void
  /** Adds a directory of provider files, watched like the main one. */
  addProvidersDir(dir: string): void
  /** Runs after the server is configured, before it listens. */
  onStart(hook: () => Promise<void> | void): void
  /** Runs at shutdown, in reverse order. */
  onStop(hook: () => Promise<void> | void): void
}

/** A plugin: data plus one `register` hook. */
export interface PluginDefinition<Options = Record<string, unknown>> {
  readonly name: string
  readonly kind: PluginKind
  /** The options it takes in `plugins: [[plugin, options]]`, validated at load. */
  readonly optionsSchema?: Fields
  register(context: PluginContext<Options>): void | Promise<void>
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
export function definePlugin<Options = Record<string, unknown>>(
  plugin: PluginDefinition<Options>,
): PluginDefinition<Options> {
  return plugin
}
