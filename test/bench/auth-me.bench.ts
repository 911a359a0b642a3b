/**
 * `npm run bench`: what the auth check costs, measured against a bare h3
 * handler in the same run. Each server runs in a process of its own pinned to
 * one core (`taskset`; one OTPKI server per path, all with the same
 * settings), `wrk` runs pinned to another; every figure is taken over several
 * rounds (min / median / max): requests per second, and the server's CPU time
 * per request read from `/proc/<pid>/stat`.
 *
 * Paths: a cached session (`GET /auth/me`) on SQLite and on PostgreSQL, a
 * bearer JWT, a client certificate forwarded by a trusted proxy, sessions
 * that are not in the cache (more sessions than `sessionCacheSize`) on both
 * databases; then start-up to the first `/healthz` 200, memory, and the time a
 * change made by one instance takes to reach another (p50, p99).
 *
 * Environment: `BENCH_SECONDS` (per round, default 5), `BENCH_ROUNDS`
 * (default 3), `BENCH_CONNECTIONS` (default 32), `BENCH_SERVER_CPU` and
 * `BENCH_LOAD_CPU` (defaults 0 and 1). Not a test: it prints the figures.
 */
import { type ChildProcess, execFile, execFileSync, fork, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { startApp, type RunningApp } from '../../core/app.ts'
import { packageRoot } from '../../core/paths.ts'
import { hashId } from '../../core/sessions/ids.ts'
import { startDevProvider } from '../../plugins/dev-provider/dev-provider.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import { CLIENT, freePort, LogCapture, POSTGRES_SECRETS, signIn } from '../support/harness.ts'
import { JoseProvider } from '../support/jose-provider.ts'
import type { BenchServerSpec, SessionsRequest, UsersRequest } from './bench-server.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1'
/** Which parts run (comma-separated: requests, memory, users, sign-in, start, propagation); all by default. */
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const section = (name: string) => !ONLY || ONLY.includes(name)
/** The miss path: more sessions than the cache holds, visited in turn. */
const CACHE_SIZE = 2_000
const MISS_SESSIONS = 10_000
const POSTGRES_URL = process.env.OTPKI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

function which(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
for (const [program, install] of [
  ['wrk', 'apt-get install wrk'],
  ['taskset', 'apt-get install util-linux'],
] as const) {
  if (!which(program)) {
    console.error(`npm run bench needs ${program}, which is not installed: ${install}`)
    process.exit(1)
  }
}
if (cpus().length < 2) console.warn('only one CPU: the server and wrk share it, so the figures are lower than they are')

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const serverScript = fileURLToPath(new URL('./bench-server.js', import.meta.url))
const cli = join(packageRoot(), 'dist/core/cli.js')
const dir = await mkdtemp(join(tmpdir(), 'otpki-bench-'))
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

/** CPU seconds a process has used (all its threads), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the line; 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

interface BenchServer {
  url: string
  pid: number
  child: ChildProcess
  sessions(username: string, count: number): Promise<string[]>
  users(count: number): Promise<void>
  close(): Promise<void>
}

/** Starts a bench server process pinned to SERVER_CPU; resolves once it serves. */
async function startServer(spec: BenchServerSpec, port: number): Promise<BenchServer> {
  const child = fork(serverScript, [], {
    env: { ...process.env, BENCH_SPEC: JSON.stringify(spec) },
    // BENCH_CPU_PROF=<folder>: each OTPKI server writes a CPU profile there when it stops (node --cpu-prof).
    execArgv:
      process.env.BENCH_CPU_PROF && spec.mode === 'otpki'
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  const ready = await new Promise<{ issuer?: string }>((resolve, reject) => {
    child.once('message', (m: { ready?: boolean; issuer?: string }) =>
      m.ready ? resolve(m) : reject(new Error(JSON.stringify(m))),
    )
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  execFileSync('taskset', ['-a', '-c', '-p', SERVER_CPU, String(child.pid)], { stdio: 'ignore' })
  return {
    url: ready.issuer ?? `http://127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    users: (count) =>
      new Promise((resolve, reject) => {
        child.once('message', (m: { cookies?: string[]; error?: string }) =>
          m.cookies ? resolve() : reject(new Error(m.error)),
        )
        child.send({ cmd: 'users', count } satisfies UsersRequest)
      }),
    sessions: (username, count) =>
      new Promise((resolve, reject) => {
        child.once('message', (m: { cookies?: string[]; error?: string }) =>
          m.cookies ? resolve(m.cookies) : reject(new Error(m.error)),
        )
        child.send({ cmd: 'sessions', username, count } satisfies SessionsRequest)
      }),
    close: () =>
      new Promise<void>((resolve) => {
        children.delete(child)
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

interface Load {
  /** The requests: one header set, or a list of cookie values visited in turn. */
  headers?: Record<string, string>
  cookies?: string[]
}

interface Sample {
  rps: number
  /** Server CPU microseconds per request. */
  cpuUs: number
  p50Ms: number
  p99Ms: number
  /** Requests that timed out or failed at the socket. */
  errors: number
}

let scriptCount = 0
/** Runs wrk pinned to LOAD_CPU against a server for `seconds`; the server's CPU per request from /proc. */
async function runWrk(server: BenchServer, path: string, load: Load, seconds: number): Promise<Sample> {
  const script = join(dir, `load-${++scriptCount}.lua`)
  const cookiesFile = join(dir, `cookies-${scriptCount}.txt`)
  if (load.cookies) await writeFile(cookiesFile, `${load.cookies.join('\n')}\n`)
  await writeFile(
    script,
    `
local headers = ${JSON.stringify(load.headers ?? {}).replace(/"([^"]+)":/g, '["$1"]=')}
local cookies = {}
${load.cookies ? `for line in io.lines("${cookiesFile}") do cookies[#cookies + 1] = line end` : ''}
local i = 0
request = function()
  if #cookies > 0 then
    i = i % #cookies + 1
    headers["Cookie"] = "otpki_session=" .. cookies[i]
  end
  return wrk.format("GET", "${path}", headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests":%d,"duration":%d,"p50":%d,"p99":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`,
  )
  const before = await cpuSeconds(server.pid)
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      'taskset',
      ['-c', LOAD_CPU, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `${server.url}${path}`],
      { maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    ),
  )
  const cpu = (await cpuSeconds(server.pid)) - before
  const line = output.trim().split('\n').at(-1)!
  const result = JSON.parse(line) as {
    requests: number
    duration: number
    p50: number
    p99: number
    errors: number
    non2xx: number
  }
  // A wrong answer is a failure; a time-out (wrk's 2 s) is a figure, shown with the others.
  if (result.non2xx > 0) throw new Error(`${path}: ${result.non2xx} answers were not 2xx`)
  return {
    rps: result.requests / (result.duration / 1e6),
    cpuUs: (cpu / result.requests) * 1e6,
    p50Ms: result.p50 / 1000,
    p99Ms: result.p99 / 1000,
    errors: result.errors,
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const median = (xs: number[]) => {
  const s = sorted(xs)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const percentile = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
const spread = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`

async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** A new PostgreSQL database for this run; dropped at the end. */
async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `otpki_bench_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

// --- The fixtures: the development provider for sessions, a JWT-issuing provider for bearer tokens, a CA.
/**
 * One OTPKI server per path, each in its own process with the same settings,
 * so that no path's figures carry another's garbage or cache state.
 */
type PathName = 'session-sqlite' | 'session-postgres' | 'bearer' | 'certificate' | 'miss-sqlite' | 'miss-postgres'
const PATHS: PathName[] = [
  'session-sqlite',
  'session-postgres',
  'bearer',
  'certificate',
  'miss-sqlite',
  'miss-postgres',
]
const ports = Object.fromEntries(await Promise.all(PATHS.map(async (p) => [p, await freePort()] as const))) as Record<
  PathName,
  number
>
const barePort = await freePort()
const publicUrls = Object.fromEntries(PATHS.map((p) => [p, `http://127.0.0.1:${ports[p]}`])) as Record<PathName, string>
const provider = await startDevProvider({
  port: 0,
  clients: [
    {
      ...CLIENT,
      redirectUris: Object.values(publicUrls).map((u) => `${u}/auth/callback`),
      postLogoutRedirectUris: Object.values(publicUrls).map((u) => `${u}/auth/signed-out`),
    },
  ],
})
const jose = await JoseProvider.start('bench-api', 'bench-api-secret')
jose.behaviour.claims = { sub: 'robot-sub', preferred_username: 'api-robot' }
const ca = await TestCa.create()
const robot = await ca.client('CN=cert-robot')
const providersDir = join(dir, 'providers')
await mkdir(providersDir)
/** The provider file for a development provider with the test client. */
const devProviderFile = (issuer: string) =>
  JSON.stringify({
    issuer,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    scopes: ['openid', 'profile', 'email', 'roles'],
    createUnknownRoles: true,
  })
await writeFile(join(providersDir, 'dev.json'), devProviderFile(provider.issuer))
await writeFile(
  join(providersDir, 'api.json'),
  JSON.stringify({ issuer: jose.issuer, clientId: 'bench-api', clientSecret: 'bench-api-secret' }),
)
const postgres = (await postgresAvailable()) ? await freshPostgres() : undefined
if (!postgres) console.warn(`PostgreSQL does not answer at ${POSTGRES_URL}: its paths are left out`)

/** The same settings on both databases: every method enabled, as a deployment would have them. */
const settings = (database: string, port: number, publicUrl: string, certificates = true) => ({
  port,
  host: '127.0.0.1',
  publicUrl,
  database,
  providersDir,
  logLevel: 'warn',
  sessionCacheSize: CACHE_SIZE,
  ...(certificates
    ? {
        clientCertificate: {
          enabled: true,
          format: 'nginx',
          trustedProxies: ['127.0.0.1'],
          ingressVerifies: true,
          createUnknownUsers: true,
        },
      }
    : {}),
  // The load comes from one address: no per-address limit may answer 429.
  rateLimit: { failedAuthPerMinute: 0, signInPerMinute: 0, callbackPerMinute: 0 },
  ...POSTGRES_SECRETS,
})

if (section('requests')) {
  const otpki: Partial<Record<PathName, BenchServer>> = {}
  for (const path of PATHS) {
    const onPostgres = path.endsWith('-postgres')
    if (onPostgres && !postgres) continue
    const database = onPostgres ? postgres!.url : join(dir, `${path}.sqlite`)
    otpki[path] = await startServer(
      { mode: 'otpki', overrides: settings(database, ports[path], publicUrls[path]) },
      ports[path],
    )
  }

  const sessionCookie: Partial<Record<PathName, string>> = {}
  let meBody: unknown
  for (const [path, server] of Object.entries(otpki) as [PathName, BenchServer][]) {
    const browser = new TestBrowser()
    const signedIn = await signIn(browser, { url: server.url }, 'admin', 'admin', { provider: 'dev' })
    if (signedIn.status !== 200) throw new Error(`sign-in on ${path} failed: ${signedIn.status}`)
    sessionCookie[path] = (await browser.cookie(server.url, 'otpki_session'))!
    const check = await fetch(`${server.url}/auth/me`, { headers: { cookie: `otpki_session=${sessionCookie[path]}` } })
    if (check.status !== 200) throw new Error(`no valid session on ${path} (${check.status})`)
    meBody ??= await check.json()
  }
  const missCookies: Partial<Record<PathName, string[]>> = {}
  for (const path of ['miss-sqlite', 'miss-postgres'] as const)
    if (otpki[path]) missCookies[path] = await otpki[path].sessions('admin', MISS_SESSIONS)
  const bare = await startServer({ mode: 'bare', port: barePort, body: meBody }, barePort)
  const bearer = await jose.accessToken('bench-api', { preferred_username: 'api-robot' }, 3600)
  const certificateHeader = encodeURIComponent(robot.certPem)

  interface Scenario {
    name: string
    server: BenchServer
    load: Load
    /** What it is compared with: bare h3 by default. */
    goal?: number
  }
  const scenarios: Scenario[] = [
    { name: 'bare h3', server: bare, load: {} },
    {
      name: 'session, cached (SQLite)',
      server: otpki['session-sqlite']!,
      load: { headers: { Cookie: `otpki_session=${sessionCookie['session-sqlite']}` } },
      goal: 0.85,
    },
    ...(otpki['session-postgres']
      ? [
          {
            name: 'session, cached (PostgreSQL)',
            server: otpki['session-postgres'],
            load: { headers: { Cookie: `otpki_session=${sessionCookie['session-postgres']}` } },
            goal: 0.85,
          },
        ]
      : []),
    {
      name: 'bearer JWT, cached',
      server: otpki.bearer!,
      load: { headers: { Authorization: `Bearer ${bearer}` } },
      goal: 0.8,
    },
    {
      name: 'client certificate (trusted proxy)',
      server: otpki.certificate!,
      load: { headers: { 'ssl-client-cert': certificateHeader } },
      goal: 0.8,
    },
    {
      name: `session not cached (SQLite; ${MISS_SESSIONS} sessions, cache ${CACHE_SIZE})`,
      server: otpki['miss-sqlite']!,
      load: { cookies: missCookies['miss-sqlite']! },
    },
    ...(otpki['miss-postgres']
      ? [
          {
            name: `session not cached (PostgreSQL; ${MISS_SESSIONS} sessions, cache ${CACHE_SIZE})`,
            server: otpki['miss-postgres'],
            load: { cookies: missCookies['miss-postgres']! },
          },
        ]
      : []),
  ]

  for (const scenario of scenarios) {
    const check = await fetch(`${scenario.server.url}/auth/me`, {
      headers: scenario.load.cookies ? { cookie: `otpki_session=${scenario.load.cookies[0]}` } : scenario.load.headers,
    })
    if (check.status !== 200) throw new Error(`${scenario.name}: /auth/me answered ${check.status}`)
  }

  console.log(
    `GET /auth/me: server on CPU ${SERVER_CPU}, wrk (1 thread, ${CONNECTIONS} connections) on CPU ${LOAD_CPU}; ` +
      `${ROUNDS} rounds of ${SECONDS} s after a 2 s warm-up; median (min-max)`,
  )
  for (const scenario of scenarios) await runWrk(scenario.server, '/auth/me', scenario.load, 2)
  const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]))
  for (let round = 0; round < ROUNDS; round++)
    for (const scenario of scenarios)
      samples.get(scenario.name)!.push(await runWrk(scenario.server, '/auth/me', scenario.load, SECONDS))

  const bareSamples = samples.get('bare h3')!
  const bareRps = median(bareSamples.map((s) => s.rps))
  const bareCpu = median(bareSamples.map((s) => s.cpuUs))
  const width = Math.max(...scenarios.map((s) => s.name.length))
  console.log(
    `\n${'path'.padEnd(width)}  ${'req/s'.padStart(22)}  ${'CPU µs/req'.padStart(18)}  ${'p99 ms'.padStart(6)}  vs bare h3`,
  )
  for (const scenario of scenarios) {
    const xs = samples.get(scenario.name)!
    const rps = xs.map((s) => s.rps)
    const cpu = xs.map((s) => s.cpuUs)
    const vs =
      scenario.server === bare
        ? ''
        : `${(median(rps) / bareRps).toFixed(2)} of its req/s, ${(median(cpu) / bareCpu).toFixed(2)}x its CPU` +
          (scenario.goal ? ` (goal: at least ${scenario.goal.toFixed(2)})` : '')
    const errors = xs.reduce((n, s) => n + s.errors, 0)
    console.log(
      `${scenario.name.padEnd(width)}  ${spread(rps).padStart(22)}  ${spread(cpu, 1).padStart(18)}  ${median(
        xs.map((s) => s.p99Ms),
      )
        .toFixed(1)
        .padStart(6)}  ${vs}${errors > 0 ? `; ${errors} requests timed out or failed` : ''}`,
    )
  }

  console.log('\nmemory (RSS, after the load):')
  console.log(`  bare h3: ${(await rssMiB(bare.pid)).toFixed(0)} MiB`)
  for (const [path, server] of Object.entries(otpki))
    console.log(
      `  OTPKI serving ${path} (cache of ${CACHE_SIZE} sessions): ${(await rssMiB(server.pid)).toFixed(0)} MiB`,
    )

  await bare.close()
  for (const server of Object.values(otpki)) await server?.close()
}

// --- Memory and lookup cost with many live sessions, all cached.
if (section('memory')) {
  const MANY = 100_000
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const server = await startServer(
    {
      mode: 'otpki',
      overrides: { ...settings(join(dir, 'memory.sqlite'), port, url, false), sessionCacheSize: MANY },
    },
    port,
  )
  // Its own database with its administrator, so that this part also runs alone (BENCH_ONLY=memory).
  await server.users(0)
  const idle = await rssMiB(server.pid)
  const cookies = await server.sessions('admin', MANY)
  // Every session once, so that all are cached; then the lookup cost over the first 1,000 and over all.
  await runWrk(server, '/auth/me', { cookies }, Math.max(5, Math.ceil(MANY / 5000)))
  const few = await runWrk(server, '/auth/me', { cookies: cookies.slice(0, 1000) }, SECONDS)
  const all = await runWrk(server, '/auth/me', { cookies }, SECONDS)
  const full = await rssMiB(server.pid)
  console.log(
    `\n${MANY.toLocaleString('en')} live sessions, all cached (sessionCacheSize ${MANY.toLocaleString('en')}): RSS ${full.toFixed(0)} MiB (${idle.toFixed(0)} MiB idle; goal: within 200 MiB); ` +
      `lookup ${few.cpuUs.toFixed(1)} µs/req over 1,000 sessions, ${all.cpuUs.toFixed(1)} µs/req over ${MANY.toLocaleString('en')} (${few.rps.toFixed(0)} and ${all.rps.toFixed(0)} req/s)`,
  )
  await server.close()
}

// --- The console's users page and its search: the same cost with 100,000 users as with 1,000.
if (section('users')) {
  const rows: string[] = []
  for (const count of [1_000, 100_000]) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const server = await startServer(
      { mode: 'otpki', overrides: settings(join(dir, `users-${count}.sqlite`), port, url, false) },
      port,
    )
    await server.users(count)
    const [cookie] = await server.sessions('admin', 1)
    const headers = { Cookie: `otpki_session=${cookie}`, Accept: 'text/html' }
    const check = await fetch(`${url}/admin/users?q=user-0005`, { headers })
    if (check.status !== 200 || !(await check.text()).includes('user-000500'))
      throw new Error(`the users page on ${count} users answered ${check.status}`)
    const measured = []
    for (const path of [
      '/admin/users',
      '/admin/users?q=user-0005',
      `/admin/users?after=user-${String(count / 2).padStart(6, '0')}`,
    ]) {
      await runWrk(server, path, { headers }, 2)
      const samples = []
      for (let round = 0; round < ROUNDS; round++) samples.push(await runWrk(server, path, { headers }, SECONDS))
      measured.push({ path, rps: median(samples.map((s) => s.rps)), cpuUs: median(samples.map((s) => s.cpuUs)) })
    }
    rows.push(
      `  ${count.toLocaleString('en')} users: ${measured.map((m) => `${m.path} ${m.rps.toFixed(0)} req/s, ${m.cpuUs.toFixed(0)} µs CPU`).join('; ')}`,
    )
    await server.close()
  }
  console.log(
    `\nthe console's users page (50 a page; first page, a search, a page deep in the list):\n${rows.join('\n')}`,
  )
}

// --- A complete sign-in (start, the provider's login, callback, code exchange, user sync, session): OTPKI's CPU against the provider's.
if (section('sign-in')) {
  const SIGN_INS = 200
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const idp = await startServer(
    {
      mode: 'provider',
      clients: [
        { clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, redirectUris: [`${url}/auth/callback`] },
      ],
    },
    0,
  )
  const signInProviders = join(dir, 'sign-in-providers')
  await mkdir(signInProviders)
  await writeFile(join(signInProviders, 'dev.json'), devProviderFile(idp.url))
  const server = await startServer(
    {
      mode: 'otpki',
      overrides: { ...settings(join(dir, 'sign-in.sqlite'), port, url, false), providersDir: signInProviders },
    },
    port,
  )
  // One first, so that discovery, keys and the user exist; then the measured ones.
  await signIn(new TestBrowser(), { url }, 'admin', 'admin', { provider: 'dev' })
  const before = { otpki: await cpuSeconds(server.pid), idp: await cpuSeconds(idp.pid) }
  const started = performance.now()
  for (let i = 0; i < SIGN_INS; i++) {
    const done = await signIn(new TestBrowser(), { url }, 'admin', 'admin', { provider: 'dev' })
    if (done.status !== 200) throw new Error(`sign-in ${i} answered ${done.status}`)
  }
  const seconds = (performance.now() - started) / 1000
  const otpkiMs = (((await cpuSeconds(server.pid)) - before.otpki) / SIGN_INS) * 1000
  const idpMs = (((await cpuSeconds(idp.pid)) - before.idp) / SIGN_INS) * 1000
  console.log(
    `\na complete sign-in (${SIGN_INS}, one after another): OTPKI ${otpkiMs.toFixed(2)} ms CPU, the provider ${idpMs.toFixed(2)} ms CPU ` +
      `(${(otpkiMs / idpMs).toFixed(2)}x; goal: at most 2x); ${(SIGN_INS / seconds).toFixed(0)} sign-ins/s`,
  )
  await server.close()
  await idp.close()
}

// --- Start-up: from spawning the process to the first /healthz 200 (liveness: the port answers while the
// database opens), and to the first /readyz 200 (the database open, every request served), as `otpki start` runs.
async function startTimes(command: string[], env: NodeJS.ProcessEnv, url: string, paths: string[]): Promise<number[]> {
  const started = performance.now()
  const child = spawn('taskset', ['-c', SERVER_CPU, ...command], { env, stdio: 'ignore' })
  children.add(child)
  const times: number[] = []
  try {
    for (const path of paths) {
      for (;;) {
        const ok = await fetch(`${url}${path}`).then(
          (r) => r.ok,
          () => false,
        )
        if (ok) break
        if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`)
        await new Promise((r) => setTimeout(r, 5))
      }
      times.push(performance.now() - started)
    }
    return times
  } finally {
    child.kill('SIGKILL')
    await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(null)))
    children.delete(child)
  }
}
if (section('start')) {
  const configFile = join(dir, 'otpki.config.json')
  const startPort = await freePort()
  await writeFile(
    configFile,
    JSON.stringify({ ...settings(join(dir, 'start.sqlite'), startPort, `http://127.0.0.1:${startPort}`) }),
  )
  const starts = { bare: [] as number[], live: [] as number[], ready: [] as number[] }
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_')))
  for (let i = 0; i < 5; i++) {
    const [bare] = await startTimes(
      [process.execPath, serverScript],
      { ...cleanEnv, BENCH_SPEC: JSON.stringify({ mode: 'bare', port: startPort, body: {} }) },
      `http://127.0.0.1:${startPort}`,
      ['/healthz'],
    )
    starts.bare.push(bare!)
    const [live, ready] = await startTimes(
      [process.execPath, cli, 'start', '-c', configFile],
      cleanEnv,
      `http://127.0.0.1:${startPort}`,
      ['/healthz', '/readyz'],
    )
    starts.live.push(live!)
    starts.ready.push(ready!)
  }
  console.log(
    `\nstart (5 starts, ms): bare h3 to /healthz ${spread(starts.bare)}; otpki start to /healthz ${spread(starts.live)}` +
      ` (${(median(starts.live) / median(starts.bare)).toFixed(1)}x; goal: at most 3x),` +
      ` to /readyz ${spread(starts.ready)} (${(median(starts.ready) / median(starts.bare)).toFixed(1)}x)`,
  )
}

// --- Propagation: a session ended on one instance, until another instance's cache has dropped it.
async function propagation(database: string, label: string): Promise<void> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const start = (p: number) =>
    startApp({
      configFile: false,
      env: {},
      logDestination: new LogCapture(),
      overrides: settings(database, p, url, false),
    })
  const a: RunningApp = await start(port)
  const b: RunningApp = await start(0)
  try {
    // The administrator the requests part signed in, or a new one when this part runs alone (BENCH_ONLY=propagation).
    const user = (await a.users.findByUsername('admin')) ?? (await a.users.createUser('admin', async () => {}))
    const times: number[] = []
    for (let i = 0; i < 50; i++) {
      const { id } = await a.sessions.create({
        user,
        method: 'oidc',
        provider: 'dev',
        maxInactive: 600,
        maxLength: 600,
      })
      if (!(await b.sessions.lookup(id))) throw new Error('the other instance does not see the new session')
      const hash = hashId(id)
      const seen = new Promise<number>((resolve) => {
        const stop = b.feed.subscribe((change) => {
          if (change.kind === 'session' && change.hash === hash) {
            stop()
            resolve(performance.now())
          }
        })
      })
      // A sign-out comes at any moment of the other instance's polling, not just after its last read.
      await delay(Math.random() * 250)
      const started = performance.now()
      await a.sessions.revoke(id)
      times.push((await seen) - started)
      if (b.sessions.peek(id) || (await b.sessions.lookup(id))) throw new Error('the ended session still counts')
    }
    console.log(
      `  ${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (50 sign-outs)`,
    )
  } finally {
    await b.close()
    await a.close()
  }
}
if (section('propagation')) {
  console.log('\na sign-out on one instance, until another instance refuses the session:')
  await propagation(join(dir, 'session-sqlite.sqlite'), 'SQLite (the change row, read every 200 ms)')
  if (postgres) await propagation(postgres.url, 'PostgreSQL (LISTEN/NOTIFY)')
}

await provider.close()
await jose.close()
await postgres?.drop()
await rm(dir, { recursive: true, force: true })
process.exit(0)
