import { mkdtemp, mkdir, rm, writeFile, unlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach } from 'vitest'
import { startApp, type RunningApp } from '../../core/app.ts'
import type { ReloadReport } from '../../core/config/provider-registry.ts'
import type { Clock } from '../../core/clock.ts'
import {
  startDevProvider,
  type DevClient,
  type DevProvider,
  type DevUser,
} from '../../plugins/dev-provider/dev-provider.ts'
import { freshPostgres, type TestDatabase } from './postgres.ts'
import { SEEN_COOKIE_VALUES, type TestBrowser, parseForm, type BrowserResponse } from './browser.ts'

/**
 * A free TCP port on loopback, below the ephemeral range the OS gives
 * outgoing connections (32768 and up on Linux): a port the OS picked could be
 * taken by a test's own client connection before the server listens on it.
 * Picked at random, so that test files running in parallel seldom try the
 * same one; checked free by listening on it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** Collects the server's log lines (JSON) for assertions. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = []
  readonly raw: string[] = []
  private waiters: {
    match: (line: Record<string, unknown>) => boolean
    resolve: (line: Record<string, unknown>) => void
  }[] = []
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.raw.push(text)
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        line = { msg: text }
      }
      this.lines.push(line)
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(line)) return true
        w.resolve(line)
        return false
      })
    }
    done()
  }
  /** Resolves with the first line (logged already, or later) that matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.waiters.push({ match, resolve }))
  }
  messages(): string[] {
    return this.lines.map((l) => String(l.msg))
  }
}

export interface Harness {
  app: RunningApp
  /** OTPKI's base URL. */
  url: string
  provider: DevProvider
  providersDir: string
  dir: string
  logs: LogCapture
  /** Writes a provider file and resolves with the reload report that applied it. */
  writeProvider(file: string, content: string): Promise<ReloadReport>
  removeProvider(file: string): Promise<ReloadReport>
  /** A provider file (JSON) for the dev provider, with overrides. */
  providerJson(overrides?: Record<string, unknown>): string
  close(): Promise<void>
}

export interface HarnessOptions {
  clock?: Clock
  users?: Record<string, DevUser>
  /** Initial provider files: name -> content. Default: dev.json for the dev provider. */
  providers?: (h: { issuer: string; providerJson: Harness['providerJson']; url: string }) => Record<string, string>
  tokenEndpointAuthMethod?: DevClient['tokenEndpointAuthMethod']
  endSession?: boolean
  /** More settings of the test client at the dev provider (auth method, keys, back-channel logout URI). */
  client?: (url: string) => Partial<DevClient>
  /** The dev provider's public host name, when it differs from where it listens. */
  issuerHost?: string
  overrides?: Record<string, unknown>
  /** The database kind: an SQLite file in the test's directory (default), or a fresh PostgreSQL database. */
  database?: TestDatabase
  /** The host name of OTPKI's public URL (default 127.0.0.1; `localhost` where WebAuthn needs a domain). It listens on 127.0.0.1. */
  hostname?: string
}

/**
 * A `clientCertificate` section for certificates forwarded by an ingress on
 * loopback that verifies them itself (nginx format, users created from CNs).
 */
export function forwardedCertificates(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    format: 'nginx',
    trustedProxies: ['127.0.0.1', '::1'],
    ingressVerifies: true,
    createUnknownUsers: true,
    ...overrides,
  }
}

/** The test client. The secret is long enough for HS512 client assertions (64 bytes). */
export const CLIENT = {
  clientId: 'otpki-test',
  clientSecret: 'test-client-secret-4f9d2-0123456789abcdef0123456789abcdef0123456789ab',
}

/** The settings every instance on one PostgreSQL shares. */
export const POSTGRES_SECRETS = {
  secret: 'test-csrf-secret-shared-by-every-instance-0123456789',
  tokenEncryptionKey: 'test-token-key-shared-by-every-instance-0123456789',
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'otpki-test-'))
  const providersDir = join(dir, 'providers')
  await mkdir(providersDir)
  const port = await freePort()
  const url = `http://${options.hostname ?? '127.0.0.1'}:${port}`
  const provider = await startDevProvider({
    port: 0,
    ...(options.users ? { users: options.users } : {}),
    ...(options.endSession !== undefined ? { endSession: options.endSession } : {}),
    ...(options.issuerHost ? { issuerHost: options.issuerHost } : {}),
    clients: [
      {
        ...CLIENT,
        redirectUris: [`${url}/auth/callback`],
        postLogoutRedirectUris: [`${url}/auth/signed-out`],
        ...(options.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: options.tokenEndpointAuthMethod } : {}),
        ...options.client?.(url),
      },
    ],
  })
  const providerJson = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify(
      {
        displayName: 'Test SSO',
        issuer: provider.issuer,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        scopes: ['openid', 'profile', 'email', 'roles'],
        ...overrides,
      },
      null,
      2,
    )
  const initial = options.providers
    ? options.providers({ issuer: provider.issuer, providerJson, url })
    : { 'dev.json': providerJson() }
  for (const [file, content] of Object.entries(initial)) await writeFile(join(providersDir, file), content)

  const postgres = options.database === 'postgres' ? await freshPostgres() : undefined
  const logs = new LogCapture()
  const app = await startApp({
    configFile: false,
    env: {},
    overrides: {
      port,
      host: '127.0.0.1',
      publicUrl: url,
      database: postgres ? postgres.url : join(dir, 'otpki.sqlite'),
      ...(postgres ? POSTGRES_SECRETS : {}),
      providersDir,
      logLevel: 'debug',
      ...options.overrides,
    },
    logDestination: logs,
    ...(options.clock ? { clock: options.clock } : {}),
  }).catch(async (error: unknown) => {
    await provider.close()
    await postgres?.drop()
    throw error
  })

  const nextReload = (action: () => Promise<void>) =>
    new Promise<ReloadReport>((resolve, reject) => {
      const off = app.registry.onReload((report) => {
        off()
        resolve(report)
      })
      action().catch(reject)
    })

  return {
    app,
    url,
    provider,
    providersDir,
    dir,
    logs,
    providerJson,
    writeProvider: (file, content) => nextReload(() => writeFile(join(providersDir, file), content)),
    removeProvider: (file) => nextReload(() => unlink(join(providersDir, file))),
    async close() {
      assertLogHygiene(logs)
      // OTPKI_TEST_LOGS=1 prints the server's warnings and errors, to see why a test failed.
      if (process.env.OTPKI_TEST_LOGS)
        for (const l of logs.lines)
          if (Number(l.level) >= 40) console.error(`[otpki ${String(l.level)}] ${String(l.msg)}`)
      await app.close()
      await provider.close()
      await postgres?.drop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Signs in through the sign-in page and the provider's login form, as a
 * person would. Returns the final response (the signed-in page on success).
 */
export async function signIn(
  browser: TestBrowser,
  h: Pick<Harness, 'url'>,
  username: string,
  password = username,
  options: { provider?: string; returnTo?: string } = {},
): Promise<BrowserResponse> {
  const start = options.provider
    ? await browser.request(
        `${h.url}/auth/sign-in?provider=${options.provider}${options.returnTo ? `&returnTo=${encodeURIComponent(options.returnTo)}` : ''}`,
      )
    : await submitSignInForm(browser, h, options.returnTo)
  const loginPage = await browser.follow(new URL(start.headers.get('location')!, start.url).href)
  if (loginPage.status !== 200 || !loginPage.body.includes('name="password"')) return loginPage
  const form = parseForm(loginPage.body, '/login')
  return browser.follow(new URL(form.action, loginPage.url).href, { form: { ...form.fields, username, password } })
}

/**
 * Starts a sign-in at `provider` and signs in at the provider's login form,
 * stopping at the redirect back to OTPKI: returns the callback URL unvisited.
 */
export async function signInUntilCallback(
  browser: TestBrowser,
  h: Pick<Harness, 'url'>,
  username: string,
  provider = 'dev',
): Promise<URL> {
  const start = await browser.request(`${h.url}/auth/sign-in?provider=${provider}`)
  const login = await browser.follow(new URL(start.headers.get('location')!, start.url).href)
  const form = parseForm(login.body, '/login')
  let res = await browser.request(new URL(form.action, login.url).href, {
    form: { ...form.fields, username, password: username },
  })
  while (!res.headers.get('location')!.startsWith(`${h.url}/auth/callback`))
    res = await browser.request(new URL(res.headers.get('location')!, res.url).href)
  return new URL(res.headers.get('location')!)
}

async function submitSignInForm(
  browser: TestBrowser,
  h: Pick<Harness, 'url'>,
  returnTo?: string,
): Promise<BrowserResponse> {
  const page = await browser.request(
    `${h.url}/auth/sign-in${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
  )
  const form = parseForm(page.body, '/auth/sign-in')
  return browser.request(`${h.url}/auth/sign-in`, { form: form.fields })
}

/**
 * Closes, after each test, every server it was given (in reverse order).
 *
 * @example
 * const track = closeAfterEach()
 * const h = track(await startHarness())
 */
export function closeAfterEach(): <T extends { close(): Promise<void> }>(server: T) => T {
  const open: { close(): Promise<void> }[] = []
  afterEach(async () => {
    while (open.length > 0) await open.pop()!.close()
  })
  return (server) => {
    open.push(server)
    return server
  }
}

/** `GET /auth/me` as this browser (or with a bearer token): status, headers and JSON body. */
export async function me(browser: TestBrowser, h: Pick<Harness, 'url'>, bearer?: string) {
  const res = await browser.request(
    `${h.url}/auth/me`,
    bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {},
  )
  return { status: res.status, headers: res.headers, body: JSON.parse(res.body) as Record<string, any> }
}

/** Secrets that must never reach a log line: the test client's secret, tokens, private keys, cookie values. */
const LEAKS: [string, (line: string) => boolean][] = [
  ['the client secret', (line) => line.includes(CLIENT.clientSecret)],
  ['a JWT (token)', (line) => /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./.test(line)],
  ['a private key', (line) => line.includes('PRIVATE KEY')],
  ['a cookie value', (line) => [...SEEN_COOKIE_VALUES].some((value) => line.includes(value))],
]

/** Log hygiene, checked for every server a test runs: throws naming what leaked. */
export function assertLogHygiene(logs: LogCapture): void {
  for (const line of logs.raw) {
    for (const [what, leaks] of LEAKS) {
      if (leaks(line)) throw new Error(`log hygiene: ${what} appears in a log line: ${line.slice(0, 300)}`)
    }
  }
}
