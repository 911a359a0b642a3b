/**
 * `npm run bench`: requests per second of `GET /auth/me` with a valid session,
 * against a bare h3 handler, in one run on this machine. Not a test: it
 * prints the numbers and the ratio.
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { H3, toNodeHandler } from 'h3'
import { startApp } from '../../core/app.ts'
import { startDevProvider } from '../../plugins/dev-provider/dev-provider.ts'
import { TestBrowser } from '../support/browser.ts'
import { freePort, signIn } from '../support/harness.ts'

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const autocannonBin = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js')

function load(url: string, cookie?: string): Promise<{ rps: number; p99: number; non2xx: number }> {
  const args = [
    autocannonBin,
    '-j',
    '-c',
    String(CONNECTIONS),
    '-d',
    String(DURATION),
    ...(cookie ? ['-H', `cookie=${cookie}`] : []),
    url,
  ]
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 << 20 }, (error, stdout) => {
      if (error) return reject(error)
      const result = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; non2xx: number }
      resolve({ rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx })
    })
  })
}

const dir = await mkdtemp(join(tmpdir(), 'otpki-bench-'))
await mkdir(join(dir, 'providers'))
const port = await freePort()
const url = `http://127.0.0.1:${port}`
const provider = await startDevProvider({
  port: 0,
  clients: [
    {
      clientId: 'bench',
      clientSecret: 'bench-secret',
      redirectUris: [`${url}/auth/callback`],
      postLogoutRedirectUris: [`${url}/auth/signed-out`],
    },
  ],
})
await writeFile(
  join(dir, 'providers', 'dev.json'),
  JSON.stringify({
    issuer: provider.issuer,
    clientId: 'bench',
    clientSecret: 'bench-secret',
    scopes: ['openid', 'profile', 'email', 'roles'],
    createUnknownRoles: true,
  }),
)
const app = await startApp({
  configFile: false,
  env: {},
  overrides: {
    port,
    host: '127.0.0.1',
    publicUrl: url,
    database: join(dir, 'bench.sqlite'),
    providersDir: join(dir, 'providers'),
    logLevel: 'warn',
    // BENCH_CLIENT_CERT=1: with client-certificate sign-in enabled too (a session request then also passes its check).
    ...(process.env.BENCH_CLIENT_CERT === '1'
      ? { clientCertificate: { enabled: true, trustedProxies: ['10.0.0.1'] } }
      : {}),
  },
})

const browser = new TestBrowser()
await signIn(browser, { url }, 'admin')
const cookie = `otpki_session=${await browser.cookie(url, 'otpki_session')}`
const check = await fetch(`${url}/auth/me`, { headers: { cookie } })
if (check.status !== 200) throw new Error(`no valid session for the bench (status ${check.status})`)
const body = (await check.json()) as Record<string, unknown>

// The baseline: a bare h3 handler answering the same JSON the idiomatic way (h3 serializes it).
const bare = new H3()
bare.get('/auth/me', () => body)
const bareServer = createServer(toNodeHandler(bare))
await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', () => resolve()))
const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/auth/me`

console.log(`GET /auth/me, ${CONNECTIONS} connections, ${DURATION}s per round, 2 rounds each, alternating`)
await load(bareUrl)
await load(`${url}/auth/me`, cookie)
const rounds = { bare: [] as number[], otpki: [] as number[] }
for (let i = 0; i < 2; i++) {
  const b = await load(bareUrl)
  const o = await load(`${url}/auth/me`, cookie)
  if (o.non2xx > 0) throw new Error(`${o.non2xx} requests to /auth/me were not 2xx`)
  rounds.bare.push(b.rps)
  rounds.otpki.push(o.rps)
  console.log(
    `round ${i + 1}: bare h3 ${b.rps.toFixed(0)} req/s (p99 ${b.p99} ms), otpki ${o.rps.toFixed(0)} req/s (p99 ${o.p99} ms)`,
  )
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const ratio = mean(rounds.otpki) / mean(rounds.bare)
console.log(`bare h3:            ${mean(rounds.bare).toFixed(0)} req/s`)
console.log(`otpki /auth/me:     ${mean(rounds.otpki).toFixed(0)} req/s (session-authenticated)`)
console.log(`ratio:              ${(ratio * 100).toFixed(1)} % of bare h3 (target: at least 90 %)`)

bareServer.close()
await app.close()
await provider.close()
await rm(dir, { recursive: true, force: true })
process.exit(0)
