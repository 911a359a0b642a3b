import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import type { Clock } from './clock.ts'
import type { AuthMethod } from './contracts/auth-method.ts'
import type { ClaimMapper } from './contracts/claim-mapper.ts'
import type { EntitySchema, MigrationObject } from '@mikro-orm/core'
import type {
  AdminAccessCheck,
  CommandSpec,
  ListenerSpec,
  PluginContext,
  PluginDefinition,
  PluginSpec,
  ProviderPreset,
  ProviderRule,
  RouteSpec,
  UserFieldSpec,
  AdminSectionSpec,
  AccountLinkSpec,
  PluginServices,
} from './contracts/plugin.ts'
import type { FlowStep } from './contracts/flow-step.ts'
import type { RequestAuthenticatorFactory } from './contracts/request-authenticator.ts'
import type { UserSync } from './contracts/user-sync.ts'
import { describeIssue, resolveOptions } from './config/fields.ts'
import { envelopeFields } from './config/provider-schema.ts'
import { importModule, runningPackageModule } from './config/module-loader.ts'
import { isOtpkiError, OtpkiError } from './errors.ts'
import type { Logger } from './logger.ts'

/** Everything the plugins registered, committed only when every plugin registered cleanly. */
export interface Registrations {
  authMethods: AuthMethod<unknown>[]
  claimMappers: ClaimMapper[]
  flowSteps: FlowStep[]
  requestAuthenticators: RequestAuthenticatorFactory[]
  userSync: UserSync | undefined
  providersDirs: string[]
  onStart: ((services: PluginServices) => Promise<void> | void)[]
  onStop: (() => Promise<void> | void)[]
  listeners: ListenerSpec[]
  trustedProxies: string[]
  adminAccess: AdminAccessCheck[]
  entities: EntitySchema<any, any>[]
  migrations: MigrationObject[]
  routes: RouteSpec[]
  commands: CommandSpec[]
  userFields: UserFieldSpec[]
  adminSections: AdminSectionSpec[]
  accountLinks: AccountLinkSpec[]
  /** Template directories plugins add, after OTPKI's own. */
  templateDirs: string[]
  providerRules: ProviderRule[]
  providerPresets: ProviderPreset[]
  plugins: string[]
}

/** What registration needs from the composition root. */
export interface PluginEnvironment {
  baseDir: string
  dataDir: string | undefined
  logger: Logger
  clock: Clock
  publicUrl: string
  /** Main-config keys no core key claims: the plugins' sections, raw. */
  sections?: Readonly<Record<string, unknown>>
  /** The environment their `OTPKI_*` variables are read from. */
  env?: NodeJS.ProcessEnv
  /** The config file, for error messages. */
  configLabel?: string
}

function emptyRegistrations(): Omit<Registrations, 'plugins'> {
  return {
    authMethods: [],
    claimMappers: [],
    flowSteps: [],
    requestAuthenticators: [],
    userSync: undefined,
    providersDirs: [],
    onStart: [],
    onStop: [],
    listeners: [],
    trustedProxies: [],
    adminAccess: [],
    entities: [],
    migrations: [],
    routes: [],
    commands: [],
    userFields: [],
    adminSections: [],
    accountLinks: [],
    templateDirs: [],
    providerRules: [],
    providerPresets: [],
  }
}

/** A plugin's section of the main configuration, validated with its `OTPKI_*` variables. */
function resolveSection(
  plugin: PluginDefinition<any, any>,
  env: PluginEnvironment,
): Record<string, unknown> | undefined {
  if (!plugin.config) return undefined
  const { key, fields } = plugin.config
  const raw = env.sections?.[key] ?? {}
  const label = env.configLabel ?? '(defaults)'
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new OtpkiError('CONFIG_INVALID', `${label}: ${key}: must be an object`)
  const { value, issues } = resolveOptions(fields, raw, env.env ?? {})
  if (issues.length > 0)
    throw new OtpkiError(
      'CONFIG_INVALID',
      issues.map((i) => describeIssue(fields, i, label, env.env ?? {}, `${key}.`)).join('\n'),
    )
  return value
}

const PLUGIN_KINDS = new Set(['auth-method', 'claim-mapper', 'user-sync', 'flow-step', 'service'])

/** Loads a plugin named by path or package; `baseDir` anchors relative paths. */
async function resolveSpec(
  spec: PluginSpec,
  baseDir: string,
): Promise<{ plugin: PluginDefinition<any>; options: Record<string, unknown>; label: string }> {
  const [target, options] = Array.isArray(spec)
    ? (spec as [PluginDefinition<any> | string, Record<string, unknown>])
    : [spec as PluginDefinition<any> | string, {}]
  if (typeof target !== 'string') return { plugin: target, options, label: target?.name ?? '(unnamed plugin)' }
  let loaded: unknown
  try {
    // Paths are relative to the config file; packages are found from its directory too, OTPKI's own plugins in OTPKI.
    const specifier =
      target.startsWith('.') || isAbsolute(target)
        ? resolve(baseDir, target)
        : (runningPackageModule(target) ?? createRequire(join(baseDir, 'otpki.config.ts')).resolve(target))
    loaded = await importModule(specifier)
  } catch (cause) {
    throw new OtpkiError(
      'PLUGIN_INVALID',
      `plugin ${target}: cannot be loaded: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
  }
  return { plugin: loaded as PluginDefinition<any>, options, label: target }
}

function check(plugin: unknown, label: string): asserts plugin is PluginDefinition<any> {
  const p = plugin as Partial<PluginDefinition<any>> | undefined
  if (!p || typeof p !== 'object')
    throw new OtpkiError(
      'PLUGIN_INVALID',
      `plugin ${label}: does not export a plugin (export default definePlugin({...}))`,
    )
  if (typeof p.name !== 'string' || p.name === '')
    throw new OtpkiError('PLUGIN_INVALID', `plugin ${label}: name: must be a non-empty string`)
  if (!PLUGIN_KINDS.has(p.kind as string))
    throw new OtpkiError('PLUGIN_INVALID', `plugin ${label}: kind: must be one of ${[...PLUGIN_KINDS].join(', ')}`)
  if (typeof p.register !== 'function')
    throw new OtpkiError('PLUGIN_INVALID', `plugin ${label}: register: must be a function`)
}

/**
 * Registers plugins in order: built-ins first, then the configured ones,
 * through the same narrow context. A plugin that fails to load or throws in
 * `register` stops everything with a clear error: nothing half-registers.
 */
export async function registerPlugins(specs: readonly PluginSpec[], env: PluginEnvironment): Promise<Registrations> {
  const all: Registrations = { ...emptyRegistrations(), plugins: [] }
  const names = new Set<string>()
  const claimed = new Set<string>()
  const sections: Record<string, unknown> = { ...env.sections }
  for (const spec of specs) {
    const { plugin, options, label } = await resolveSpec(spec, env.baseDir)
    check(plugin, label)
    if (names.has(plugin.name))
      throw new OtpkiError('PLUGIN_INVALID', `plugin ${label}: a plugin named ${plugin.name} is already registered`)
    let resolved = options
    if (plugin.optionsSchema) {
      const { value, issues } = resolveOptions(plugin.optionsSchema, options)
      if (issues.length > 0) {
        throw new OtpkiError(
          'PLUGIN_INVALID',
          issues.map((i) => `plugin ${plugin.name}: option ${i.key}: ${i.reason}`).join('\n'),
        )
      }
      resolved = value
    }
    const staged = emptyRegistrations()
    const config = resolveSection(plugin, { ...env, sections })
    if (plugin.config) claimed.add(plugin.config.key)
    const context: PluginContext<Record<string, unknown>> = {
      options: resolved,
      config: config as Record<string, unknown>,
      logger: env.logger.child({ plugin: plugin.name }),
      clock: env.clock,
      publicUrl: env.publicUrl,
      baseDir: env.baseDir,
      dataDir: env.dataDir,
      listener: (spec) => void staged.listeners.push(spec),
      addTrustedProxies: (addresses) => void staged.trustedProxies.push(...addresses),
      adminAccess: (check) => void staged.adminAccess.push(check),
      entities: (list, migrations) => {
        staged.entities.push(...list)
        staged.migrations.push(...migrations)
      },
      route: (spec) => void staged.routes.push(spec),
      command: (spec) => void staged.commands.push(spec),
      userField: (spec) => void staged.userFields.push(spec),
      adminSection: (spec) => void staged.adminSections.push(spec),
      accountLink: (spec) => void staged.accountLinks.push(spec),
      templates: (dir) => void staged.templateDirs.push(resolve(env.baseDir, dir)),
      providerRule: (rule) => void staged.providerRules.push(rule),
      providerPreset: (preset) => void staged.providerPresets.push(preset),
      adjustSection: (key, adjust) => {
        const raw = sections[key]
        sections[key] = adjust(
          raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {},
        )
      },
      registerAuthMethod: (m) => void staged.authMethods.push(m),
      registerClaimMapper: (m) => void staged.claimMappers.push(m),
      registerFlowStep: (f) => void staged.flowSteps.push(f),
      registerRequestAuthenticator: (f) => void staged.requestAuthenticators.push(f),
      registerUserSync: (s) => {
        staged.userSync = s
      },
      addProvidersDir: (dir) => void staged.providersDirs.push(resolve(env.baseDir, dir)),
      onStart: (hook) => void staged.onStart.push(hook),
      onStop: (hook) => void staged.onStop.push(hook),
    }
    try {
      await plugin.register(context)
    } catch (cause) {
      // A plugin refusing its own config section is a configuration error: name the file, not the plugin's code.
      if (isOtpkiError(cause, 'CONFIG_INVALID')) {
        throw new OtpkiError('CONFIG_INVALID', `${env.configLabel ?? '(defaults)'}: ${cause.message}`, { cause })
      }
      throw new OtpkiError(
        'PLUGIN_INVALID',
        `plugin ${plugin.name}: register failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      )
    }
    for (const m of staged.authMethods) checkAuthMethod(plugin.name, m, [...all.authMethods, ...staged.authMethods])
    for (const [kind, list, known] of [
      ['claim mapper', staged.claimMappers, all.claimMappers],
      ['flow step', staged.flowSteps, all.flowSteps],
    ] as const) {
      for (const item of list as { name: string }[]) {
        if (typeof item.name !== 'string' || item.name === '')
          throw new OtpkiError('PLUGIN_INVALID', `plugin ${plugin.name}: a ${kind} has no name`)
        if ((known as { name: string }[]).some((x) => x.name === item.name))
          throw new OtpkiError(
            'PLUGIN_INVALID',
            `plugin ${plugin.name}: a ${kind} named ${item.name} is already registered`,
          )
      }
    }
    names.add(plugin.name)
    all.plugins.push(plugin.name)
    all.authMethods.push(...staged.authMethods)
    all.claimMappers.push(...staged.claimMappers)
    all.flowSteps.push(...staged.flowSteps)
    all.requestAuthenticators.push(...staged.requestAuthenticators)
    all.userSync = staged.userSync ?? all.userSync
    all.providersDirs.push(...staged.providersDirs)
    all.onStart.push(...staged.onStart)
    all.onStop.push(...staged.onStop)
    all.listeners.push(...staged.listeners)
    all.trustedProxies.push(...staged.trustedProxies)
    all.adminAccess.push(...staged.adminAccess)
    all.entities.push(...staged.entities)
    all.migrations.push(...staged.migrations)
    all.routes.push(...staged.routes)
    all.commands.push(...staged.commands)
    all.userFields.push(...staged.userFields)
    all.adminSections.push(...staged.adminSections)
    all.accountLinks.push(...staged.accountLinks)
    all.templateDirs.push(...staged.templateDirs)
    all.providerRules.push(...staged.providerRules)
    all.providerPresets.push(...staged.providerPresets)
  }
  for (const key of Object.keys(sections)) {
    if (!claimed.has(key))
      throw new OtpkiError('CONFIG_INVALID', `${env.configLabel ?? '(defaults)'}: ${key}: is not a known key`)
  }
  if (!all.userSync) throw new OtpkiError('PLUGIN_INVALID', 'no user sync is registered')
  return all
}

/** A strategy's name is unique, its keys are not the envelope's, and one strategy at most is the default. */
function checkAuthMethod(plugin: string, m: AuthMethod<unknown>, registered: readonly AuthMethod<unknown>[]): void {
  const refuse = (reason: string) => {
    throw new OtpkiError('PLUGIN_INVALID', `plugin ${plugin}: auth method ${m.strategy}: ${reason}`)
  }
  if (typeof m.strategy !== 'string' || !new RegExp(envelopeFields.strategy.pattern!).test(m.strategy))
    refuse(`its strategy must match ${envelopeFields.strategy.pattern}`)
  if (registered.filter((x) => x.strategy === m.strategy).length > 1) refuse('this strategy is already registered')
  if (m.isDefault && registered.filter((x) => x.isDefault).length > 1)
    refuse(`another strategy is already the default (${registered.find((x) => x.isDefault && x !== m)?.strategy})`)
  const shared = Object.keys(m.optionsSchema ?? {}).filter((key) => Object.hasOwn(envelopeFields, key))
  if (shared.length > 0) refuse(`its options must not reuse the envelope's keys (${shared.join(', ')})`)
}
