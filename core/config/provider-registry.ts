import { mkdir, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { inject, injectable, injectAll } from 'tsyringe'
import type { Clock } from '../clock.ts'
import type { AuthMethod } from '../contracts/auth-method.ts'
import type { ProviderRule } from '../contracts/plugin.ts'
import type { ProviderDefinition } from '../contracts/provider.ts'
import { TOKENS } from '../di/tokens.ts'
import type { Logger } from '../logger.ts'
import type { FieldIssue } from './fields.ts'
import { providerEntry } from './provider-entry.ts'
import { isProviderFile, loadProviderFile, type ProviderDefaults, type ProviderLoadResult } from './provider-loader.ts'

export type { ProviderEntry, ProviderStatus } from './provider-entry.ts'
import type { ProviderEntry } from './provider-entry.ts'

export interface ReloadIssue extends FieldIssue {
  file: string
}

/** The outcome of one (re)load, for logs, tests and `otpki check`. */
export interface ReloadReport {
  generation: number
  providers: string[]
  added: string[]
  changed: string[]
  removed: string[]
  /** Providers whose sessions and bearer tokens no longer count: removed, disabled, or their issuer changed. */
  revoked: string[]
  issues: ReloadIssue[]
}

/** Provider directories to read and watch. */
export interface ProviderSources {
  dirs: string[]
  defaults: ProviderDefaults
  /** Rules between providers that plugins register (one issuer per provider, say). */
  rules: readonly ProviderRule[]
}

/**
 * Holds the providers in force. Files are re-read on change; the new set is
 * swapped in whole, so a request sees either the old or the new set. A broken
 * file is reported and its last good definition stays in force.
 */
@injectable()
export class ProviderRegistry {
  private entries = new Map<string, ProviderEntry>()
  private lastGood = new Map<string, ProviderDefinition>()
  private warnings = new Map<string, string[]>()
  private generation = 0
  private watcher: FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<ReloadReport> | undefined
  private again = false
  private listeners = new Set<(report: ReloadReport) => void>()
  private last: (ReloadReport & { at: number }) | undefined
  /** Issues already logged, so a file that stays broken is reported once, not at every reload. */
  private loggedIssues = new Set<string>()

  constructor(
    @inject(TOKENS.ProviderSources) private readonly sources: ProviderSources,
    @injectAll(TOKENS.AuthMethod) private readonly methods: AuthMethod<unknown>[],
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  /** Providers in force, in sign-in page order. */
  list(): ProviderEntry[] {
    return [...this.entries.values()].sort(
      (a, b) =>
        a.definition.displayOrder - b.definition.displayOrder || a.definition.name.localeCompare(b.definition.name),
    )
  }

  get(name: string): ProviderEntry | undefined {
    return this.entries.get(name)
  }

  currentGeneration(): number {
    return this.generation
  }

  /** The last reload's report, and when it ran (epoch ms). */
  lastReport(): (ReloadReport & { at: number }) | undefined {
    return this.last
  }

  /** Called after every reload with its report. Returns an unsubscribe function. */
  onReload(listener: (report: ReloadReport) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Reads every provider file now. Concurrent calls are coalesced. `prepare:
   * false` skips preparing new providers (discovery), for tools that need only
   * the definitions.
   */
  async reload(options: { prepare?: boolean } = {}): Promise<ReloadReport> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.doReload(options.prepare ?? true)
    try {
      return await this.running
    } finally {
      this.running = undefined
      if (this.again) {
        this.again = false
        void this.reload().catch((error: unknown) =>
          this.logger.error({ err: error }, 'provider reload failed; the providers in force stay'),
        )
      }
    }
  }

  /** Starts watching the provider directories; changes apply within a second. */
  async watch(): Promise<void> {
    for (const dir of this.sources.dirs) await mkdir(dir, { recursive: true })
    this.watcher = watch(this.sources.dirs, {
      ignoreInitial: true,
      depth: 0,
      awaitWriteFinish: { stabilityThreshold: 60, pollInterval: 20 },
    })
    const schedule = (path: string) => {
      if (!isProviderFile(path)) return
      clearTimeout(this.timer)
      this.timer = setTimeout(
        () =>
          void this.reload().catch((error: unknown) =>
            this.logger.error({ err: error }, 'provider reload failed; the providers in force stay'),
          ),
        50,
      )
    }
    this.watcher.on('add', schedule).on('change', schedule).on('unlink', schedule)
    this.watcher.on('error', (error) => this.logger.error({ err: error }, 'provider directory watch failed'))
    await new Promise<void>((ready) => this.watcher!.once('ready', () => ready()))
  }

  /** What the last load of a provider file warned about (a weaker setting, an icon it could not read). */
  warningsFor(file: string): readonly string[] {
    return this.warnings.get(file) ?? []
  }

  async close(): Promise<void> {
    clearTimeout(this.timer)
    await this.watcher?.close()
    await this.running?.catch(() => undefined)
    for (const entry of this.entries.values()) await this.disposeEntry(entry)
  }

  private async doReload(prepare: boolean): Promise<ReloadReport> {
    const files = await this.listFiles()
    this.logger.debug({ files: files.length }, 'reading provider files')
    const results = await Promise.all(files.map((file) => loadProviderFile(file, this.sources.defaults)))
    const issues: ReloadIssue[] = []
    const candidates = new Map<string, ProviderDefinition>()
    for (const result of results) {
      const definition = this.acceptOrKeep(result, issues)
      if (definition) candidates.set(result.file, definition)
    }
    for (const file of this.lastGood.keys()) if (!files.includes(file)) this.lastGood.delete(file)
    const chosen = this.resolveConflicts(candidates, issues)

    const previous = this.entries
    const next = new Map<string, ProviderEntry>()
    const report: ReloadReport = {
      generation: this.generation,
      providers: [],
      added: [],
      changed: [],
      removed: [],
      revoked: [],
      issues,
    }
    let changed = false
    for (const definition of chosen) {
      const old = previous.get(definition.name)
      if (old && sameDefinition(old.definition, definition)) {
        next.set(definition.name, old)
        continue
      }
      const method = this.methods.find((m) => m.strategy === definition.strategy)
      if (!method) {
        issues.push({
          file: definition.source,
          key: '(provider)',
          reason: `no auth method for strategy ${definition.strategy}`,
        })
        if (old) next.set(definition.name, old)
        continue
      }
      changed = true
      ;(old ? report.changed : report.added).push(definition.name)
      if (old && ((old.definition.enabled && !definition.enabled) || old.definition.issuer !== definition.issuer))
        report.revoked.push(definition.name)
      next.set(
        definition.name,
        providerEntry(definition, method, this.generation + 1, {
          logger: this.logger.child({ provider: definition.name }),
          clock: this.clock,
        }),
      )
    }
    for (const name of previous.keys()) {
      if (!next.has(name)) {
        changed = true
        report.removed.push(name)
        report.revoked.push(name)
      }
    }
    if (changed) {
      this.generation += 1
      this.entries = next
      for (const [name, entry] of previous) if (next.get(name) !== entry) void this.disposeEntry(entry)
    }
    // Prepare new providers now (discovery), so the first sign-in does not wait and /readyz tells.
    if (prepare)
      for (const name of [...report.added, ...report.changed])
        void this.entries
          .get(name)
          ?.context()
          .catch(() => undefined)
    report.generation = this.generation
    report.providers = [...this.entries.keys()]
    this.logReport(report)
    this.last = { ...report, at: Date.now() }
    for (const listener of this.listeners) listener(report)
    return report
  }

  /** A valid file becomes the file's last good definition; a broken one falls back to it. */
  private acceptOrKeep(result: ProviderLoadResult, issues: ReloadIssue[]): ProviderDefinition | undefined {
    if (result.ok) {
      this.lastGood.set(result.file, result.provider)
      this.warnings.set(result.file, result.warnings)
      return result.provider
    }
    for (const issue of result.issues) issues.push({ file: result.file, ...issue })
    return this.lastGood.get(result.file)
  }

  /**
   * What the plugins' uniqueness rules (one issuer, one provider) would say of
   * `definition` beside the providers in force, other than the one in its own file.
   */
  conflicts(definition: ProviderDefinition): FieldIssue[] {
    const issues: FieldIssue[] = []
    for (const rule of this.sources.rules) {
      const value = rule.uniqueBy(definition)
      if (value === undefined) continue
      for (const entry of this.entries.values()) {
        const other = entry.definition
        if (other.source === definition.source || other.name === definition.name) continue
        if (rule.uniqueBy(other) === value) issues.push({ key: rule.key, reason: rule.reason(other) })
      }
    }
    return issues
  }

  /** Two files with one name or one issuer: the one already in force keeps it, the other is refused. */
  private resolveConflicts(candidates: Map<string, ProviderDefinition>, issues: ReloadIssue[]): ProviderDefinition[] {
    // Names are unique for every strategy; the rest of the rules come from the plugins.
    const rules: ProviderRule[] = [
      {
        key: 'name',
        uniqueBy: (d) => d.name,
        reason: (other) => `duplicate provider name "${other.name}" (also in ${other.source})`,
        refuses: 'both',
      },
      ...this.sources.rules,
    ]
    const seen = rules.map(() => new Map<string, ProviderDefinition>())
    const ordered = [...candidates.values()].sort((a, b) => {
      const aHeld = this.entries.get(a.name)?.definition.source === a.source ? 0 : 1
      const bHeld = this.entries.get(b.name)?.definition.source === b.source ? 0 : 1
      return aHeld - bHeld || a.source.localeCompare(b.source)
    })
    const refused = new Set<ProviderDefinition>()
    const accepted: ProviderDefinition[] = []
    for (const definition of ordered) {
      const values = rules.map((rule) => rule.uniqueBy(definition))
      const clash = rules.findIndex((_rule, i) => values[i] !== undefined && seen[i]!.has(values[i]!))
      if (clash >= 0) {
        const rule = rules[clash]!
        const other = seen[clash]!.get(values[clash]!)!
        issues.push({ file: definition.source, key: rule.key, reason: rule.reason(other) })
        refused.add(definition)
        if (rule.refuses !== 'later') refused.add(other)
        continue
      }
      rules.forEach((_rule, i) => {
        if (values[i] !== undefined) seen[i]!.set(values[i]!, definition)
      })
      accepted.push(definition)
    }
    // The definition already in force stays; a conflict with nothing in force refuses both (or the later one).
    return accepted.filter((d) => !refused.has(d) || this.entries.get(d.name)?.definition.source === d.source)
  }

  private async disposeEntry(entry: ProviderEntry): Promise<void> {
    if (!entry.method.dispose || entry.status().state !== 'ready') return
    try {
      await entry.method.dispose(await entry.context())
    } catch (error) {
      this.logger.warn({ err: error, provider: entry.definition.name }, 'provider dispose failed')
    }
  }

  private async listFiles(): Promise<string[]> {
    const files: string[] = []
    for (const dir of this.sources.dirs) {
      let names: string[]
      try {
        names = await readdir(dir)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }
      for (const name of names.sort()) if (isProviderFile(name)) files.push(resolve(join(dir, name)))
    }
    return files
  }

  private logReport(report: ReloadReport): void {
    const current = new Set<string>()
    for (const issue of report.issues) {
      const line = `${issue.file}: ${issue.key}: ${issue.reason}`
      current.add(line)
      if (this.loggedIssues.has(line)) continue
      const inForce = [...this.entries.values()].some((e) => e.definition.source === issue.file)
      const kept = inForce ? ' (its last good definition stays in force)' : ''
      this.logger.error(
        { file: issue.file, key: issue.key, reason: issue.reason },
        `provider file rejected: ${line}${kept}`,
      )
    }
    this.loggedIssues = current
    for (const name of [...report.added, ...report.changed]) {
      const source = this.entries.get(name)?.definition.source
      for (const warning of (source && this.warnings.get(source)) || [])
        this.logger.warn({ provider: name, file: source }, `provider ${name}: ${warning}`)
    }
    if (report.added.length || report.changed.length || report.removed.length) {
      this.logger.info(
        { generation: report.generation, added: report.added, changed: report.changed, removed: report.removed },
        `providers reloaded (${report.providers.length} in force)`,
      )
    }
  }
}

function sameDefinition(a: ProviderDefinition, b: ProviderDefinition): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
