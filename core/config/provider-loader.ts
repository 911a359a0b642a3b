import { basename, extname } from 'node:path'
import type { AuthMethod } from '../contracts/auth-method.ts'
import type { ProviderPreset } from '../contracts/plugin.ts'
import type { ClaimNames, ExtensionEntry, ProviderDefinition } from '../contracts/provider.ts'
import { durationToSeconds } from './duration.ts'
import { forbiddenKeys, resolveOptions, type FieldIssue, type Fields } from './fields.ts'
import { loadDataModule } from './module-loader.ts'
import { envelopeFields } from './provider-schema.ts'
import { resolveSecret, type SecretRef } from './secrets.ts'
import { iconSource, loadIcon } from './provider-icon.ts'
import { parseClaimPath } from '../claims/claim-path.ts'

/** Provider file extensions, in the order they are read. */
export const PROVIDER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.json'] as const

export function isProviderFile(path: string): boolean {
  return (
    (PROVIDER_EXTENSIONS as readonly string[]).includes(extname(path)) &&
    !path.endsWith('.d.ts') &&
    !basename(path).startsWith('.')
  )
}

/** The mappers and flow steps plugins registered, by type, with their option schemas. */
export interface ProviderExtensions {
  mappers: ReadonlyMap<string, { optionsSchema?: Fields | undefined }>
  flowSteps: ReadonlyMap<string, { optionsSchema?: Fields | undefined }>
}

/** The strategies plugins registered, and the one that serves files naming none. */
export interface ProviderStrategyTable {
  methods: ReadonlyMap<string, AuthMethod<unknown>>
  default: string | undefined
}

/** Values a provider inherits from the main configuration, and what the running app offers it. */
export interface ProviderDefaults {
  publicUrl: string
  sessionMaxInactive: number
  sessionMaxLength: number
  strategies: ProviderStrategyTable
  /** When given, `mappers` and flow entries are checked against them. */
  extensions?: ProviderExtensions
  /** The presets plugins registered, by name. */
  presets?: ReadonlyMap<string, ProviderPreset>
}

/** The strategy table of a list of registered auth methods. */
export function strategyTable(methods: readonly AuthMethod<unknown>[]): ProviderStrategyTable {
  return {
    methods: new Map(methods.map((m) => [m.strategy, m])),
    default: methods.find((m) => m.isDefault)?.strategy,
  }
}

const SYNC_MODES = ['force', 'import', 'legacy']

/**
 * Checks `mappers` / flow entries: objects with a known `type` and valid
 * options. Returns them with each extension's option defaults applied, so its
 * code never meets a missing optional option.
 */
function validateEntries(
  key: string,
  entries: unknown[],
  known: ProviderExtensions['mappers'] | undefined,
  issues: FieldIssue[],
): ExtensionEntry[] {
  return entries.map((entry, i) => {
    const at = `${key}[${i}]`
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return void issues.push({ key: at, reason: 'must be an object with a type' })
    const { type, syncMode, ...options } = entry as Record<string, unknown>
    if (typeof type !== 'string' || type === '') return void issues.push({ key: `${at}.type`, reason: 'is required' })
    if (syncMode !== undefined && (key !== 'mappers' || !SYNC_MODES.includes(syncMode as string))) {
      issues.push({
        key: `${at}.syncMode`,
        reason: key === 'mappers' ? `must be one of ${SYNC_MODES.join(', ')}` : 'is not a known key',
      })
    }
    if (!known) return entry
    const extension = known.get(type)
    if (!extension)
      return void issues.push({
        key: `${at}.type`,
        reason: `unknown ${key === 'mappers' ? 'mapper' : 'flow step'} "${type}" (known: ${[...known.keys()].join(', ')})`,
      })
    if (!extension.optionsSchema) {
      if (Object.keys(options).length > 0)
        issues.push({ key: `${at}.${Object.keys(options)[0]}`, reason: 'is not a known key' })
      return entry
    }
    const resolved = resolveOptions(extension.optionsSchema, options)
    for (const issue of resolved.issues) issues.push({ key: `${at}.${issue.key}`, reason: issue.reason })
    return { type, ...(syncMode !== undefined ? { syncMode } : {}), ...resolved.value }
  }) as ExtensionEntry[]
}

export type ProviderLoadResult =
  | { ok: true; file: string; provider: ProviderDefinition; warnings: string[] }
  | { ok: false; file: string; issues: FieldIssue[] }

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i

/** True for URLs that may use plain http: loopback hosts only. */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK.test(url.hostname) || url.hostname.endsWith('.localhost')
}

/** Reads, validates and resolves one provider file. Never throws. */
export async function loadProviderFile(file: string, defaults: ProviderDefaults): Promise<ProviderLoadResult> {
  let input: unknown
  try {
    input = await loadDataModule(file)
  } catch (cause) {
    return {
      ok: false,
      file,
      issues: [{ key: '(file)', reason: cause instanceof Error ? cause.message : String(cause) }],
    }
  }
  try {
    const result = validateProvider(input, file, defaults)
    if (!result.ok || !result.provider.icon) return result
    // The icon is read here, not when validating: a file or URL that cannot be read leaves it out.
    try {
      const dataUrl = await loadIcon(result.provider.icon.source, file)
      return { ...result, provider: { ...result.provider, icon: { ...result.provider.icon, dataUrl } } }
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause)
      return { ...result, warnings: [...result.warnings, `icon: ${reason}; the provider is shown without it`] }
    }
  } catch (cause) {
    // Never let one file take the reload down: whatever slipped through is this file's error.
    return {
      ok: false,
      file,
      issues: [
        {
          key: '(file)',
          reason: `cannot be read as a provider: ${cause instanceof Error ? cause.message : String(cause)}`,
        },
      ],
    }
  }
}

/** Splits a provider file into the envelope's keys and its strategy's. */
function splitKeys(input: Record<string, unknown>): [Record<string, unknown>, Record<string, unknown>] {
  const envelope: Record<string, unknown> = {}
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input))
    (Object.hasOwn(envelopeFields, key) ? envelope : options)[key] = value
  return [envelope, options]
}

/** Validates a provider object as read from `file`: the envelope here, the rest by its strategy. */
export function validateProvider(
  input: unknown,
  file: string,
  defaults: ProviderDefaults,
  /** Reads a secret reference; the default reads the environment or the file now. */
  secret: (ref: SecretRef, key: string) => string = resolveSecret,
): ProviderLoadResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { ok: false, file, issues: [{ key: '(root)', reason: 'must be an object' }] }
  // `$schema` points editors at the published JSON Schema; it is not a setting.
  const { $schema: _schema, ...given } = input as Record<string, unknown>
  const forbidden = forbiddenKeys(given)
  if (forbidden.length > 0) return { ok: false, file, issues: forbidden }
  const preset = applyPreset(given, defaults)
  if ('issue' in preset) return { ok: false, file, issues: [preset.issue] }
  const [envelopeInput, optionsInput] = splitKeys(preset.keys)
  const { value: v, issues } = resolveOptions(envelopeFields, envelopeInput)
  if (issues.some((i) => i.key === '(root)')) return { ok: false, file, issues }
  const strategy = v.strategy ?? defaults.strategies.default
  const method = strategy === undefined ? undefined : defaults.strategies.methods.get(strategy)
  if (!method) {
    const known = [...defaults.strategies.methods.keys()].join(', ') || 'none'
    issues.push({
      key: 'strategy',
      reason:
        strategy === undefined ? `is required (known: ${known})` : `unknown strategy "${strategy}" (known: ${known})`,
    })
    return { ok: false, file, issues }
  }
  const name = v.name ?? basename(file, extname(file))
  if (!new RegExp(envelopeFields.name.pattern!).test(name)) {
    issues.push({
      key: 'name',
      reason: `"${name}" (from the file name) must match ${envelopeFields.name.pattern}; set name explicitly`,
    })
  }
  const checked = resolveOptions(method.optionsSchema, optionsInput)
  issues.push(...checked.issues)
  // Every error of the file at once: the checks across options need valid options; the
  // claim paths, mappers and flows are checked either way.
  const resolved =
    issues.length > 0
      ? { options: checked.value, issues: [] }
      : method.resolveOptions
        ? method.resolveOptions(checked.value, {
            name,
            publicUrl: defaults.publicUrl,
            secret,
          })
        : { options: checked.value, issues: [] }
  issues.push(...resolved.issues)
  for (const [k, path] of Object.entries(v.claims && typeof v.claims === 'object' ? v.claims : {})) {
    if (k === 'source') continue
    for (const p of Array.isArray(path) ? path : [path]) {
      try {
        parseClaimPath(p as string)
      } catch (cause) {
        issues.push({ key: `claims.${k}`, reason: (cause as Error).message })
      }
    }
  }
  // A key the envelope refused reads as absent here; its issue is already listed.
  const mappers = validateEntries('mappers', v.mappers ?? [], defaults.extensions?.mappers, issues)
  const firstLoginFlow = validateEntries(
    'firstLoginFlow',
    v.firstLoginFlow ?? [],
    defaults.extensions?.flowSteps,
    issues,
  )
  const postLoginFlow = validateEntries('postLoginFlow', v.postLoginFlow ?? [], defaults.extensions?.flowSteps, issues)
  if (v.icon !== undefined) {
    const source = iconSource(v.icon, file)
    if ('issue' in source) issues.push({ key: 'icon', reason: source.issue })
  }
  if (issues.length > 0) return { ok: false, file, issues }

  const seconds = (d: typeof v.sessionMaxInactive, fallback: number) =>
    d === undefined ? fallback : durationToSeconds(d)
  const provider: ProviderDefinition = {
    name,
    displayName: v.displayName ?? name,
    displayOrder: v.displayOrder,
    ...(v.icon !== undefined ? { icon: { source: v.icon } } : {}),
    enabled: v.enabled,
    hideOnLoginPage: v.hideOnLoginPage,
    strategy: method.strategy,
    issuer: method.issuerOf(resolved.options),
    options: resolved.options as ProviderDefinition['options'],
    sessionMaxInactive: seconds(v.sessionMaxInactive, defaults.sessionMaxInactive),
    sessionMaxLength: seconds(v.sessionMaxLength, defaults.sessionMaxLength),
    createUnknownUsers: v.createUnknownUsers,
    createUnknownRoles: v.createUnknownRoles,
    trustEmail: v.trustEmail,
    accountLinkingOnly: v.accountLinkingOnly,
    claims: v.claims as ClaimNames,
    splitFullName: v.splitFullName,
    absentRoles: v.absentRoles,
    ...(preset.applied ? { preset: preset.applied } : {}),
    mappers,
    syncMode: v.syncMode,
    roleSyncScope: v.roleSyncScope,
    usernameCollision: v.usernameCollision,
    firstLoginFlow,
    postLoginFlow,
    source: file,
  }
  return { ok: true, file, provider, warnings: [...(resolved.warnings ?? [])] }
}

/**
 * The file's keys with its preset's under them: a key the file sets wins,
 * `claims` is merged key by key. Answers which keys came from the preset.
 */
function applyPreset(
  given: Record<string, unknown>,
  defaults: ProviderDefaults,
): { keys: Record<string, unknown>; applied?: { name: string; keys: string[] } } | { issue: FieldIssue } {
  const name = given.preset
  if (name === undefined) return { keys: given }
  const known = [...(defaults.presets?.keys() ?? [])].sort().join(', ') || 'none'
  const preset = typeof name === 'string' ? defaults.presets?.get(name) : undefined
  if (!preset) return { issue: { key: 'preset', reason: `unknown preset ${JSON.stringify(name)} (known: ${known})` } }
  const strategy = (given.strategy as string | undefined) ?? defaults.strategies.default
  if (strategy !== preset.strategy)
    return { issue: { key: 'preset', reason: `${preset.name} is a preset for the ${preset.strategy} strategy` } }
  const keys: Record<string, unknown> = { ...given }
  const from: string[] = []
  for (const [key, value] of Object.entries(preset.keys(given))) {
    const mine = given[key]
    if (key === 'claims' && value && typeof value === 'object' && !Array.isArray(value)) {
      const own = mine && typeof mine === 'object' && !Array.isArray(mine) ? (mine as Record<string, unknown>) : {}
      if (mine !== undefined && own !== mine) continue
      const merged: Record<string, unknown> = { ...own }
      for (const [k, v] of Object.entries(value)) {
        if (Object.hasOwn(own, k)) continue
        merged[k] = v
        from.push(`claims.${k}`)
      }
      keys.claims = merged
    } else if (!Object.hasOwn(given, key)) {
      keys[key] = value
      from.push(key)
    }
  }
  return { keys, applied: { name: preset.name, keys: from } }
}

/** One line per issue: `file: key: reason`. */
export function formatIssues(file: string, issues: readonly FieldIssue[]): string[] {
  return issues.map((i) => `${file}: ${i.key}: ${i.reason}`)
}
