import { Command } from 'commander'
import { pino } from 'pino'
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { databaseTarget, describeDatabase } from './store/database.ts'
import type * as AppModule from './app.ts'
import type { AppOptions, ComposedApp, ReloadReport, RunningApp } from './app.ts'
import { OtpkiError, isOtpkiError } from './errors.ts'
import { packageRoot } from './paths.ts'
import type { CommandSpec } from './contracts/plugin.ts'
import { sanitizeTerminalOutput, terminalJson } from './terminal-output.ts'

sanitizeTerminalOutput()

// The application (the ORM, its drivers, the HTTP routes) loads only when a command needs it: `start` listens first.
const appModule = () => import('./app.ts')
const ormModule = () => import('./store/orm.ts')

/** Prints an error for a person (no stack for errors OTPKI raised on purpose) and exits 1. */
function fail(error: unknown): never {
  if (isOtpkiError(error)) console.error(`otpki: ${error.message}`)
  else console.error('otpki:', error)
  process.exit(1)
}

/** Set once `start` or `dev` serves: the process then runs until a signal. */
let serving = false

async function run(options: AppOptions): Promise<void> {
  serving = true
  // `otpki dev`: the summary for a person comes first, the JSON log lines of the start after it.
  const held = options.dev ? new HeldLog() : undefined
  let app: RunningApp
  try {
    app = await (await import('./boot.ts')).boot(held ? { ...options, logDestination: held } : options)
  } catch (error) {
    held?.release()
    fail(error)
  }
  if (options.dev) await printDevSummary(app).finally(() => held?.release())
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    app.logger.info({ signal }, 'shutting down')
    void app.close().then(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

/**
 * A log destination that keeps the lines written until {@link release}
 * (at most a few seconds), then writes them and what follows to stdout.
 */
class HeldLog {
  private lines: string[] | undefined = []
  private readonly out = pino.destination({ dest: 1, sync: true })
  private readonly timer = setTimeout(() => this.release(), 5000).unref()

  write(line: string): void {
    if (this.lines) this.lines.push(line)
    else this.out.write(line)
  }

  release(): void {
    clearTimeout(this.timer)
    const lines = this.lines
    this.lines = undefined
    for (const line of lines ?? []) this.out.write(line)
  }
}

/** What `otpki dev` (`npm start`) offers, for a person, on stderr before the JSON logs of the start. */
async function printDevSummary(app: RunningApp): Promise<void> {
  // Loaded here: `otpki start` never needs the development plugin.
  const { DEMO_ACCOUNTS } = await import('../plugins/dev-provider/index.ts')
  const providers = app.registry.list().map((e) => `${e.definition.displayName} (${e.status().state})`)
  const lines = [
    '',
    'OTPKI Sign-in (development)',
    `  sign in:        ${app.url}/  as ${DEMO_ACCOUNTS}`,
    `  console:        ${app.url}/admin`,
    `  providers:      ${providers.join(', ') || 'none'}`,
    ...Object.entries(app.listeners).map(([name, url]) => `  ${`${name}:`.padEnd(15)} ${url}/auth/me`),
    `  database:       ${app.config.database}`,
    '  never for production: `otpki start` runs without the development provider',
    '',
  ]
  process.stderr.write(`${lines.join('\n')}\n`)
}

/** Composes the app without database or server, and reads the provider files once. */
async function loadProviders(opts: {
  config?: string
  dev?: boolean
}): Promise<{ app: ComposedApp; report: ReloadReport }> {
  let app: ComposedApp
  try {
    app = await (await appModule()).composeApp({
      ...(opts.config ? { configFile: opts.config } : {}),
      dev: Boolean(opts.dev),
      overrides: { logLevel: 'silent' },
      watch: false,
    })
  } catch (error) {
    fail(error)
  }
  return { app, report: await app.registry.reload() }
}

/** The version of the installed package (its package.json). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

const program = new Command()
program
  .name('otpki')
  .description('OTPKI Sign-in: OpenID Connect and client-certificate sign-in for OTPKI')
  .version(version(), '-V, --version', 'print the version and exit')
  .showHelpAfterError()

program
  .command('start')
  .description('run the sign-in server with otpki.config.ts')
  .option('-c, --config <file>', 'config file (default: OTPKI_CONFIG, else ./otpki.config.ts)')
  .action((opts: { config?: string }) => run({ ...(opts.config ? { configFile: opts.config } : {}) }))

program
  .command('dev')
  .description(
    'run the embedded default: SQLite and a development OpenID provider (demo accounts admin/admin, alice/alice)',
  )
  .option('-c, --config <file>', 'config file (default: OTPKI_CONFIG, else ./otpki.config.ts)')
  .action((opts: { config?: string }) => run({ dev: true, ...(opts.config ? { configFile: opts.config } : {}) }))

program
  .command('check')
  .description('validate the configuration, plugins and provider files; exit 1 on any error')
  .option('-c, --config <file>', 'config file')
  .option('--dev', 'include the development provider, as `otpki dev` does')
  .action(async (opts: { config?: string; dev?: boolean }) => {
    const { app, report } = await loadProviders(opts)
    console.log(`config: ${app.config.file ?? '(defaults)'}`)
    console.log(`plugins: ${app.registrations.plugins.join(', ')}`)
    for (const issue of report.issues) console.error(`error: ${issue.file}: ${issue.key}: ${issue.reason}`)
    const entries = app.registry.list()
    await Promise.all(
      entries.map((e) => Promise.race([e.context().catch(() => undefined), new Promise((r) => setTimeout(r, 12_000))])),
    )
    for (const entry of entries) {
      const status = entry.status()
      const line = `provider ${entry.definition.name} (${entry.definition.source}): ${status.state}`
      if (status.state === 'ready') console.log(line)
      else console.warn(`warning: ${line}${status.error ? `: ${status.error}` : ''}`)
      for (const warning of app.registry.warningsFor(entry.definition.source))
        console.warn(`warning: provider ${entry.definition.name} (${entry.definition.source}): ${warning}`)
    }
    const opened = (await appModule()).databaseExists(app.config.db)
      ? await (await appModule()).openServices(app)
      : undefined
    try {
      if (
        !(await (
          await appModule()
        ).canAdministrate(
          app.registry.list().map((e) => e.definition),
          app.registrations.adminAccess,
          app.config.adminRoles,
          async () => opened?.services,
        ))
      ) {
        console.warn(`warning: ${(await appModule()).LOCKOUT_WARNING}`)
      }
    } finally {
      await opened?.close()
    }
    await app.registry.close()
    if (report.issues.length > 0) {
      console.error(`${report.issues.length} error(s)`)
      process.exit(1)
    }
    console.log('configuration ok')
    process.exit(0)
  })

const providersCommand = program
  .command('providers')
  .description('list the identity providers (never their secrets)')
  .option('-c, --config <file>', 'config file')
  .option('--dev', 'include the development provider')
  .option('--json', 'print JSON')
  .action(async (opts: { config?: string; dev?: boolean; json?: boolean }) => {
    const { app, report } = await loadProviders(opts)
    const rows = app.registry.list().map(({ definition: p, method }) => ({
      name: p.name,
      // The strategy's own columns (an OIDC provider: client ID, issuer, discovery, redirect URL).
      ...(method.describe?.(p.options) ?? { strategy: p.strategy, issuer: p.issuer }),
      createUnknownUsers: p.createUnknownUsers,
      createUnknownRoles: p.createUnknownRoles,
      enabled: p.enabled,
    }))
    await app.registry.close()
    if (opts.json) console.log(terminalJson(rows))
    else printTable(rows)
    for (const issue of report.issues) console.error(`error: ${issue.file}: ${issue.key}: ${issue.reason}`)
    process.exit(report.issues.length > 0 ? 1 : 0)
  })

providersCommand
  .command('import <source>')
  .description(
    'write a validated provider file from what the provider publishes: an issuer URL, its metadata URL, or a saved metadata file',
  )
  .requiredOption('--name <name>', 'the provider name, and its file name in the providers directory')
  .option('--client-id <id>', 'the client ID registered at the provider')
  .option('--strategy <strategy>', 'the strategy (default: the default one, oidc)')
  .option('--stdout', 'print the file instead of writing it')
  .option('--force', 'replace a file of that name')
  .option('-c, --config <file>', 'config file')
  .action(
    async (
      source: string,
      opts: { name: string; clientId?: string; strategy?: string; stdout?: boolean; force?: boolean; config?: string },
      command: Command,
    ) => {
      const { importProviderFile } = await import('./provider-import.ts')
      try {
        // -c after `import` may be parsed as the `providers` command's own option.
        const config = opts.config ?? (command.optsWithGlobals() as { config?: string }).config
        const result = await importProviderFile(source, { ...opts, ...(config ? { config } : {}) })
        if (opts.stdout) process.stdout.write(result.text)
        else console.log(`wrote ${result.file}`)
        for (const note of result.notes) console.error(`note: ${note}`)
      } catch (error) {
        fail(error)
      }
    },
  )

program
  .command('explain')
  .description(
    "run a provider's whole chain (mapping, mappers, flows, sync decision) on sample claims, writing nothing",
  )
  .requiredOption('-p, --provider <name>', 'the provider')
  .requiredOption(
    '--claims <file>',
    'a JSON file of claims, as the provider would send them (iss is added when missing)',
  )
  .option('-c, --config <file>', 'config file')
  .option('--dev', 'include the development provider')
  .option('--json', 'print JSON')
  .action(async (opts: { provider: string; claims: string; config?: string; dev?: boolean; json?: boolean }) => {
    let claims: Record<string, unknown>
    try {
      claims = JSON.parse(await readFile(opts.claims, 'utf8')) as Record<string, unknown>
      if (claims === null || typeof claims !== 'object' || Array.isArray(claims))
        throw new Error('must be a JSON object of claims')
    } catch (error) {
      fail(new OtpkiError('CONFIG_INVALID', `${opts.claims}: ${(error as Error).message}`))
    }
    let result: Awaited<ReturnType<typeof AppModule.explainClaims>>
    try {
      result = await (await appModule()).explainClaims(
        {
          ...(opts.config ? { configFile: opts.config } : {}),
          dev: Boolean(opts.dev),
          overrides: { logLevel: 'silent' },
        },
        opts.provider,
        claims,
      )
    } catch (error) {
      fail(error)
    }
    const { explanation: e, provider, database } = result
    if (opts.json) {
      console.log(
        terminalJson({ provider: provider.name, ...(provider.preset ? { preset: provider.preset } : {}), ...e }),
      )
      process.exit(e.refused ? 1 : 0)
    }
    const i = e.identity
    console.log(`provider: ${provider.name} (${provider.issuer}), sync mode ${provider.syncMode}`)
    if (provider.preset) {
      const claims = provider.claims as unknown as Record<string, unknown>
      const definition = provider as unknown as Record<string, unknown>
      const options = provider.options as Record<string, unknown>
      const presetValue = (key: string) =>
        key.startsWith('claims.') ? claims[key.slice(7)] : key in options ? options[key] : definition[key]
      console.log(`preset: ${provider.preset.name}; from it (the file sets none of these):`)
      for (const key of provider.preset.keys) console.log(`  ${key.padEnd(24)} ${JSON.stringify(presetValue(key))}`)
    }
    console.log(`identity: ${i.subject} at ${i.issuer}`)
    console.log(`database: ${database === ':memory:' ? 'none yet (every identity is new)' : database}`)
    console.log(
      e.existing
        ? `sign-in of existing user #${e.existing.id} ${e.existing.username}`
        : 'first sign-in of this identity',
    )
    const rows: [string, string, string][] = [
      ['username', i.username, i.provenance?.username ?? ''],
      ['firstName', i.firstName ?? '-', i.provenance?.firstName ?? ''],
      ['lastName', i.lastName ?? '-', i.provenance?.lastName ?? ''],
      [
        'email',
        `${i.email ?? '-'}${i.email ? (i.emailVerified ? ' (verified)' : ' (not verified)') : ''}`,
        i.provenance?.email ?? '',
      ],
      [
        'roles',
        i.roles === undefined ? '(no roles claim: unchanged)' : i.roles.join(', ') || '(none)',
        i.provenance?.roles ?? '',
      ],
      ...Object.entries(i.attributes).map(
        ([k, v]) =>
          [`attributes.${k}`, JSON.stringify(v), i.provenance?.[`attributes.${k}`] ?? ''] as [string, string, string],
      ),
    ]
    console.log('\nmapped (field, value, set by, sync mode):')
    for (const [field, value, by] of rows)
      console.log(
        `  ${field.padEnd(22)} ${value.padEnd(36)} ${by.padEnd(22)} ${i.syncModes?.[field] ?? provider.syncMode}`,
      )
    if (e.refused) {
      console.log(`\nrefused: ${e.refused}`)
    } else {
      const u = e.user!
      console.log(
        `\n${e.existing ? 'would update' : 'would create'} user ${u.username}: ${[u.firstName, u.lastName].filter(Boolean).join(' ') || '-'}, ${u.email ?? 'no email'}`,
      )
      console.log(`  roles: ${u.roles.join(', ') || '(none)'}`)
      const dropped = (i.roles ?? []).filter((r) => !u.roles.includes(r))
      if (dropped.length > 0 && !provider.createUnknownRoles)
        console.log(`  not roles in OTPKI, ignored (createUnknownRoles is off): ${dropped.join(', ')}`)
      if (Object.keys(u.attributes).length > 0) console.log(`  attributes: ${JSON.stringify(u.attributes)}`)
    }
    console.log('\nnothing was written')
    process.exit(e.refused ? 1 : 0)
  })

const db = program.command('db').description('the database: schema migrations, and moving to another database')

db.command('migrate')
  .description('apply pending schema migrations, under a lock (otpki start does the same before serving)')
  .option('-c, --config <file>', 'config file')
  .action(async (opts: { config?: string }) => {
    try {
      const app = await (await appModule()).composeApp({
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: { logLevel: 'silent' },
        watch: false,
      })
      const orm = await (await ormModule()).openDatabase(app.config.db, { ...app.registrations, migrate: false })
      try {
        const applied = await (await ormModule()).migrateDatabase(orm, app.config.db)
        console.log(
          applied.length > 0
            ? `${app.config.database}: applied ${applied.join(', ')}`
            : `${app.config.database}: the schema is current`,
        )
      } finally {
        await orm.close()
        await app.registry.close()
      }
    } catch (error) {
      fail(error)
    }
    process.exit(0)
  })

db.command('copy')
  .description(
    'copy everything (users, identities, roles, sessions, certificates, audit data) from one database to a new, empty one; for example from the embedded SQLite to PostgreSQL',
  )
  .requiredOption('--from <db>', 'the source: an SQLite file or a postgres:// URL')
  .requiredOption(
    '--to <db>',
    'the target: an SQLite file or a postgres:// URL (created and migrated; it must hold no users)',
  )
  .option('-c, --config <file>', 'config file (its plugins tables are copied too)')
  .action(async (opts: { from: string; to: string; config?: string }) => {
    try {
      const app = await (await appModule()).composeApp({
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: { logLevel: 'silent' },
        watch: false,
      })
      await app.registry.close()
      const from = databaseTarget(opts.from, process.cwd())
      const to = databaseTarget(opts.to, process.cwd())
      if (from.kind === 'sqlite' && from.file !== ':memory:' && !existsSync(from.file))
        throw new OtpkiError('CONFIG_INVALID', `--from: ${from.file} does not exist`)
      const source = await (await ormModule()).openDatabase(from, app.registrations)
      try {
        const target = await (await ormModule()).openDatabase(to, app.registrations)
        try {
          const copied = await (await import('./store/copy.ts')).copyDatabase(source, target, to)
          for (const { table, rows } of copied) console.log(`${table}: ${rows}`)
          console.log(`copied ${describeDatabase(from)} to ${describeDatabase(to)}`)
        } finally {
          await target.close()
        }
      } finally {
        await source.close()
      }
    } catch (error) {
      fail(error instanceof Error && !isOtpkiError(error) ? new OtpkiError('INTERNAL', error.message) : error)
    }
    process.exit(0)
  })

const users = program.command('users').description('users, and the credentials plugins attach to them')
/** The options every command a plugin adds takes, as the built-in ones do. */
type CommandOptions = { config?: string }
async function withPluginServices(
  opts: CommandOptions,
  work: Parameters<typeof AppModule.withServices>[1],
): Promise<void> {
  try {
    // The plugins were composed once already to learn their commands: reuse that.
    await (await appModule()).withServices(
      { ...(opts.config ? { configFile: opts.config } : {}), overrides: { logLevel: 'silent' } },
      work,
      composedForCommands,
    )
  } catch (error) {
    fail(error)
  }
}
users
  .command('list')
  .description('every user, with roles and the columns plugins add (certificates)')
  .option('-c, --config <file>', 'config file')
  .action((opts: CommandOptions) =>
    withPluginServices(opts, async (services, app) => {
      const fields = app.registrations.userFields
      const rows = (await (await import('./http/routes/admin.ts')).usersWithFields(services, fields)).map(
        ({ user: u, fields: values }) => ({
          username: u.username,
          name: [u.firstName, u.lastName].filter(Boolean).join(' ') || '-',
          email: u.email ?? '-',
          roles: u.roles.join(',') || '-',
          ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)])),
        }),
      )
      const columns: [string, string][] = [
        ['USERNAME', 'username'],
        ['NAME', 'name'],
        ['EMAIL', 'email'],
        ['ROLES', 'roles'],
        ...fields.map((f): [string, string] => [f.header, f.name]),
      ]
      printTable(rows, columns, 'no users')
    }),
  )

program
  .command('audit')
  .description(
    'the audit trail, newest first: sign-ins and refusals, sign-outs, administrative and CLI actions, reloads',
  )
  .option('-c, --config <file>', 'config file')
  .option('--since <duration>', 'only events this recent (24h, 7d, 30m)', '24h')
  .option('--user <username>', 'only events about this user')
  .option('--provider <name>', 'only events of this provider')
  .option('--outcome <outcome>', 'success or failure')
  .option('--kind <kind>', 'sign-in, sign-out, admin, cli or reload')
  .option('--limit <n>', 'at most this many events (up to 1000)', '100')
  .option('--json', 'one JSON object per line')
  .action(
    (
      opts: CommandOptions & {
        since: string
        user?: string
        provider?: string
        outcome?: string
        kind?: string
        limit: string
        json?: boolean
      },
    ) =>
      withPluginServices(opts, async (_services, app) => {
        const { durationToSeconds } = await import('./config/duration.ts')
        const { AUDIT_KINDS } = await import('./audit/audit-log.ts')
        const { TOKENS } = await import('./di/tokens.ts')
        let seconds: number
        try {
          seconds = durationToSeconds(opts.since)
        } catch (error) {
          throw new OtpkiError('REQUEST_INVALID', `--since ${opts.since}: ${(error as Error).message}`)
        }
        if (opts.outcome !== undefined && opts.outcome !== 'success' && opts.outcome !== 'failure')
          throw new OtpkiError('REQUEST_INVALID', `--outcome must be success or failure, not ${opts.outcome}`)
        if (opts.kind !== undefined && !(AUDIT_KINDS as readonly string[]).includes(opts.kind))
          throw new OtpkiError('REQUEST_INVALID', `--kind must be one of ${AUDIT_KINDS.join(', ')}, not ${opts.kind}`)
        const limit = Number(opts.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new OtpkiError('REQUEST_INVALID', `--limit must be a whole number from 1 to 1000, not ${opts.limit}`)
        const audit = app.container.resolve<import('./audit/audit-log.ts').AuditLog>(TOKENS.AuditLog)
        const events = await audit.query({
          since: Date.now() - seconds * 1000,
          user: opts.user,
          provider: opts.provider,
          outcome: opts.outcome as 'success' | 'failure' | undefined,
          kind: opts.kind as import('./audit/audit-log.ts').AuditKind | undefined,
          limit,
        })
        if (opts.json) {
          for (const e of events) console.log(terminalJson({ ...e, at: new Date(e.at).toISOString() }, 0))
          return
        }
        printTable(
          events.map((e) => ({
            at: new Date(e.at).toISOString(),
            kind: e.kind,
            outcome: e.outcome,
            reason: e.reason ?? '-',
            user: e.username ?? '-',
            provider: e.provider ?? '-',
            actor: e.actor ?? '-',
          })),
          [
            ['TIME', 'at'],
            ['KIND', 'kind'],
            ['OUTCOME', 'outcome'],
            ['REASON', 'reason'],
            ['USER', 'user'],
            ['PROVIDER', 'provider'],
            ['BY', 'actor'],
          ],
          `no audit events in the last ${opts.since}`,
        )
      }),
  )

/** Adds the commands plugins register (`users attach-cert`, say) under their group. */
function addPluginCommands(commands: readonly CommandSpec[]): void {
  for (const spec of commands) {
    const words = spec.name.split(' ')
    let parent = program
    for (const word of words.slice(0, -1))
      parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word)
    parent
      .command(`${words.at(-1)} ${spec.arguments.map((a) => `<${a}>`).join(' ')}`)
      .description(spec.description)
      .option('-c, --config <file>', 'config file')
      .action((...args: unknown[]) => {
        const opts = args[spec.arguments.length] as CommandOptions
        return withPluginServices(opts, (services) =>
          spec.action(args.slice(0, spec.arguments.length) as string[], {
            ...services,
            print: (line) => console.log(line),
          }),
        )
      })
  }
}

program
  .command('schema')
  .description(
    'print what OTPKI publishes from its field definitions: the JSON Schemas of provider files and of the main config, and the key reference (docs/config-keys.md)',
  )
  .argument('[which]', 'only one: provider, config or keys')
  .option('--write', 'write them into the package (schema/, docs/config-keys.md)')
  .action(async (which: string | undefined, opts: { write?: boolean }) => {
    const schemas = await import('./schemas.ts')
    if (opts.write) {
      for (const file of await schemas.writeJsonSchemas(packageRoot())) console.log(`wrote ${file}`)
      return
    }
    const all = await schemas.jsonSchemas()
    const names = Object.keys(schemas.SCHEMA_FILES) as (keyof typeof schemas.SCHEMA_FILES)[]
    if (which !== undefined) {
      if (!names.includes(which as never))
        fail(new OtpkiError('CONFIG_INVALID', `schema: which is one of ${names.join(', ')}`))
      process.stdout.write(all[which as keyof typeof all])
      return
    }
    for (const name of names) process.stdout.write(`# ${schemas.SCHEMA_FILES[name]}\n${all[name]}\n`)
  })

/** Column headers of the providers list; other keys a strategy describes get theirs from their name. */
const COLUMN_HEADERS: Record<string, string> = {
  clientId: 'CLIENT ID',
  createUnknownUsers: 'CREATE USERS',
  createUnknownRoles: 'CREATE ROLES',
}

/** Every key the rows hold, in first-seen order, with its header (`redirectUrl`: REDIRECT URL). */
function columnsOf(rows: Record<string, unknown>[]): [string, string][] {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  return keys.map((k) => [COLUMN_HEADERS[k] ?? k.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(), k])
}

function printTable(
  rows: Record<string, unknown>[],
  columns: [string, string][] = columnsOf(rows),
  empty = 'no identity providers',
): void {
  if (rows.length === 0) {
    console.log(empty)
    return
  }
  const headers = columns.map(([h]) => h)
  const keys = columns.map(([, k]) => k)
  const cells = rows.map((r) => keys.map((k) => (r[k] === undefined ? '-' : String(r[k]))))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  console.log(line(headers))
  for (const c of cells) console.log(line(c))
}

// Commands plugins add are known once the plugins are: compose them, except for commands core alone answers.
const CORE_COMMANDS = new Set(['start', 'dev', 'check', 'providers', 'explain', 'schema', 'db', '--version', '-V'])
let composedForCommands: ComposedApp | undefined
if (!CORE_COMMANDS.has(process.argv[2] ?? '')) {
  const at = process.argv.findIndex((a) => a === '-c' || a === '--config')
  const configFile = at > 0 ? process.argv[at + 1] : undefined
  // A configuration that does not compose is reported by the command itself, which composes again.
  composedForCommands = await (await appModule())
    .composeApp({
      ...(configFile ? { configFile } : {}),
      watch: false,
      overrides: { logLevel: 'silent' },
    })
    .catch(() => undefined)
  if (composedForCommands) addPluginCommands(composedForCommands.registrations.commands)
}
await program.parseAsync(process.argv)
// A command is done: nothing a plugin module left behind (a worker, a timer) keeps the process alive.
if (!serving) process.exit(process.exitCode ?? 0)
