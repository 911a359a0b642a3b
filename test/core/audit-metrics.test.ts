import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { otpki } from '../support/cli.ts'
import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../support/browser.ts'
import { ensureBuilt } from '../support/build.ts'
import {
  POSTGRES_SECRETS,
  closeAfterEach,
  freePort,
  signIn,
  signInUntilCallback,
  startHarness,
  type Harness,
} from '../support/harness.ts'
import { testDatabases } from '../support/postgres.ts'

/** A config file for the CLI, on the harness's database. */
async function cliConfig(h: Harness, database: string): Promise<string> {
  const file = join(h.dir, 'cli.config.json')
  await writeFile(
    file,
    JSON.stringify({
      database:
        database === 'postgres' ? h.app.config.database : h.app.config.db.kind === 'sqlite' ? h.app.config.db.file : '',
      ...(database === 'postgres' ? POSTGRES_SECRETS : {}),
      providersDir: h.providersDir,
    }),
  )
  return file
}

async function signedIn(h: Harness, username: string): Promise<TestBrowser> {
  const browser = new TestBrowser()
  expect((await signIn(browser, h, username)).status).toBe(200)
  return browser
}

describe.each(testDatabases())('the audit trail (%s)', (database) => {
  const track = closeAfterEach()

  it('records sign-ins, refusals, sign-outs and reloads; GET /admin/audit and otpki audit read them', async () => {
    const h = track(
      await startHarness({
        database,
        users: {
          admin: { password: 'admin', claims: { preferred_username: 'admin', roles: ['admin'] } },
          alice: { password: 'alice', claims: { preferred_username: 'alice', email: 'alice@example.test', roles: [] } },
          audra: { password: 'audra', claims: { preferred_username: 'audra', roles: ['auditor'] } },
          percy: { password: 'percy', claims: { preferred_username: 'percy', roles: ['pki-operator'] } },
        },
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
        overrides: { permissions: { readAudit: ['auditor'], manageCertificates: ['pki-operator'] } },
      }),
    )
    const alice = await signedIn(h, 'alice')
    // A refused sign-in: the state in the callback is not the one OTPKI sent.
    const refused = new TestBrowser()
    const callback = await signInUntilCallback(refused, h, 'alice')
    callback.searchParams.set('state', 'forged')
    expect((await refused.request(callback.href)).status).toBe(400)
    // A provider file refused at reload.
    await h.writeProvider('broken.json', '{ "issuer": 42 }')

    const admin = await signedIn(h, 'admin')
    const answer = await admin.request(`${h.url}/admin/audit?user=alice&kind=sign-in&outcome=success`)
    expect(answer.status).toBe(200)
    const { events } = JSON.parse(answer.body) as { events: Record<string, any>[] }
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      kind: 'sign-in',
      outcome: 'success',
      username: 'alice',
      provider: 'dev',
      method: 'oidc',
      detail: { firstLogin: true, mapped: { username: 'alice', email: 'alice@example.test' } },
    })
    expect(Date.parse(events[0]!.at)).toBeGreaterThan(Date.now() - 60_000)

    const failures = JSON.parse((await admin.request(`${h.url}/admin/audit?outcome=failure`)).body).events
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'sign-in', reason: 'AUTH_RESPONSE_INVALID', provider: 'dev' }),
        expect.objectContaining({
          kind: 'reload',
          reason: 'PROVIDER_FILE_REJECTED',
          detail: expect.objectContaining({
            issues: expect.arrayContaining([expect.objectContaining({ file: expect.stringContaining('broken.json') })]),
          }),
        }),
      ]),
    )
    // Every event is a log line too.
    expect(
      h.logs.lines.some((l) => (l.audit as any)?.kind === 'sign-in' && (l.audit as any)?.username === 'alice'),
    ).toBe(true)

    // Sign-out is recorded.
    const page = await alice.request(`${h.url}/`)
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!
    await alice.request(`${h.url}/auth/sign-out`, { form: { csrf } })
    const outs = JSON.parse((await admin.request(`${h.url}/admin/audit?kind=sign-out`)).body).events
    expect(outs).toEqual([expect.objectContaining({ username: 'alice', outcome: 'success', provider: 'dev' })])

    // Paging: before= the last id gives the older events, never the same one twice.
    const first = JSON.parse((await admin.request(`${h.url}/admin/audit?limit=2`)).body).events
    const next = JSON.parse((await admin.request(`${h.url}/admin/audit?limit=2&before=${first[1].id}`)).body).events
    expect(next.length).toBeGreaterThan(0)
    expect(next.every((e: { id: number }) => e.id < first[1].id)).toBe(true)

    // The permission: an auditor reads it, a user without it gets 403, nobody 401; bad filters 400.
    const audra = await signedIn(h, 'audra')
    expect((await audra.request(`${h.url}/admin/audit`)).status).toBe(200)
    expect((await audra.request(`${h.url}/admin/users`)).status).toBe(403)
    expect((await audra.request(`${h.url}/admin/users/alice/certificates`)).status).toBe(403)
    expect((await audra.request(`${h.url}/admin/sessions`)).status).toBe(403)
    // A PKI operator manages certificates, and nothing else.
    const percy = await signedIn(h, 'percy')
    const certificates = await percy.request(`${h.url}/admin/users/alice/certificates`)
    expect(certificates.status).toBe(200)
    expect(JSON.parse(certificates.body)).toEqual({ certificates: [] })
    expect((await percy.request(`${h.url}/admin/audit`)).status).toBe(403)
    expect((await percy.request(`${h.url}/admin/users`)).status).toBe(403)
    const other = await signedIn(h, 'alice')
    expect((await other.request(`${h.url}/admin/audit`)).status).toBe(403)
    expect((await fetch(`${h.url}/admin/audit`)).status).toBe(401)
    expect((await admin.request(`${h.url}/admin/audit?outcome=maybe`)).status).toBe(400)
    expect((await admin.request(`${h.url}/admin/audit?since=yesterday`)).status).toBe(400)

    // The CLI reads the same trail.
    ensureBuilt()
    await h.app.services.audit.record({ kind: 'cli', outcome: 'success', actor: 'test' })
    const config = await cliConfig(h, database)
    const json = await otpki(['audit', '--json', '--user', 'alice', '--kind', 'sign-in', '-c', config])
    expect(json.code, json.stderr).toBe(0)
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => l.outcome)).toEqual(['success', 'success'])
    const table = await otpki(['audit', '--since', '1h', '--outcome', 'failure', '-c', config])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/TIME\s+KIND\s+OUTCOME\s+REASON/)
    expect(table.stdout).toContain('AUTH_RESPONSE_INVALID')
    const bad = await otpki(['audit', '--since', 'soon', '-c', config])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('--since soon')
  })
})

describe('metrics', () => {
  const track = closeAfterEach()

  it('GET /metrics counts sign-ins, cache lookups, provider readiness and reloads', async () => {
    const h = track(await startHarness())
    const browser = await signedIn(h, 'alice')
    for (let i = 0; i < 3; i++) expect((await browser.request(`${h.url}/auth/me`)).status).toBe(200)
    const refused = new TestBrowser()
    const callback = await signInUntilCallback(refused, h, 'alice')
    callback.searchParams.set('state', 'forged')
    await refused.request(callback.href)

    const res = await fetch(`${h.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    const value = (pattern: string) => {
      const line = text.split('\n').find((l) => l.startsWith(pattern))
      expect(line, pattern).toBeDefined()
      return Number(line!.slice(pattern.length).trim())
    }
    expect(value('otpki_sign_ins_total{provider="dev",method="oidc",outcome="success"}')).toBe(1)
    expect(value('otpki_sign_ins_total{provider="dev",method="",outcome="failure"}')).toBe(1)
    expect(value('otpki_sign_in_duration_seconds_count{provider="dev"}')).toBe(1)
    expect(value('otpki_provider_ready{provider="dev"}')).toBe(1)
    expect(value('otpki_session_cache_lookups_total{result="hit"}')).toBeGreaterThanOrEqual(2)
    expect(value('otpki_active_sessions')).toBe(1)
    expect(value('otpki_provider_reloads_total{result="ok"}')).toBe(1)
    expect(value('otpki_provider_last_good_reload_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60)
    expect(value('otpki_http_request_duration_seconds_count{route="me"}')).toBe(3)
    // A well-formed histogram: its own HELP and TYPE lines, cumulative buckets ending at +Inf = count.
    expect(text).toMatch(
      /\n# HELP otpki_http_request_duration_seconds .+\n# TYPE otpki_http_request_duration_seconds histogram\n/,
    )
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('otpki_http_request_duration_seconds_bucket{') && l.includes('route="me"'))
      .map((l) => Number(l.split(' ').at(-1)))
    expect(buckets.length).toBeGreaterThan(5)
    expect([...buckets].sort((a, b) => a - b)).toEqual(buckets)
    expect(buckets.at(-1)).toBe(3)
    expect(text).toContain('otpki_process_cpu_seconds_total')
    // At debug level every request is a log line, without the query.
    expect(
      h.logs.lines.filter((l) => l.msg === 'request' && l.route === 'me' && l.status === 200 && l.path === '/auth/me'),
    ).toHaveLength(3)
    expect(h.logs.lines.some((l) => l.msg === 'request' && String(l.path).includes('?'))).toBe(false)

    // A provider that cannot be reached: not ready, and its failure counted.
    await h.writeProvider(
      'down.json',
      JSON.stringify({ displayName: 'Down IdP', issuer: 'http://127.0.0.9:9', clientId: 'c', clientSecret: 's' }),
    )
    await h.logs.waitFor((l) => l.msg === 'provider unavailable' && l.issuer === 'http://127.0.0.9:9')
    const down = await (await fetch(`${h.url}/metrics`)).text()
    expect(down).toMatch(/^otpki_provider_ready\{provider="down"\} 0$/m)
    expect(down).toMatch(/^otpki_provider_errors_total\{provider="down"\} [1-9]/m)
    expect(down).toMatch(/^otpki_provider_errors_total\{provider="dev"\} 0$/m)

    await h.writeProvider('broken.json', '{ "issuer": 42 }')
    const after = await (await fetch(`${h.url}/metrics`)).text()
    expect(after).toMatch(/^otpki_provider_reloads_total\{result="rejected"\} 1$/m)
    expect(after).toMatch(/^otpki_provider_last_reload_rejected 1$/m)
  })

  it('with a token, only a request that carries it; with a port of their own, not on the public listener', async () => {
    const port = await freePort()
    const h = track(await startHarness({ overrides: { metrics: { token: 'scrape-secret', port } } }))
    expect((await fetch(`${h.url}/metrics`)).status).toBe(404)
    const url = `http://127.0.0.1:${port}/metrics`
    const without = await fetch(url)
    expect(without.status).toBe(401)
    expect(without.headers.get('www-authenticate')).toContain('Bearer')
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-secret!' } })).status).toBe(401)
    const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-secret' } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('otpki_provider_ready{provider="dev"} 1')
    expect(h.logs.lines.every((l) => !JSON.stringify(l).includes('scrape-secret'))).toBe(true)
  })

  it('metrics.enabled false: no /metrics', async () => {
    const h = track(await startHarness({ overrides: { metrics: { enabled: false } } }))
    expect((await fetch(`${h.url}/metrics`)).status).toBe(404)
  })
})
