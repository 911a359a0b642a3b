import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../core/clock.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, forwardedCertificates, signIn, startHarness, type Harness } from '../support/harness.ts'

const rows = async (h: Harness, table: string) =>
  (
    (await h.app.orm.em.fork().getConnection().execute(`select cast(count(*) as integer) as n from ${table}`)) as {
      n: number
    }[]
  )[0]!.n

/**
 * Streams a chunked body (no Content-Length) until the server answers; returns
 * the answer, how many bytes were sent by then, and whether the server then
 * closed the connection (it stopped reading).
 */
function flood(
  url: string,
  headers: Record<string, string>,
  chunk = 65_536,
  max = 64 * 1_048_576,
): Promise<{ status: number; headers: Record<string, unknown>; sent: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered: { status: number; headers: Record<string, unknown> } | undefined
    const req = request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } })
    const data = Buffer.alloc(chunk, 'a')
    const pump = () => {
      while (!answered && sent < max) {
        sent += chunk
        if (!req.write(data)) return void req.once('drain', pump)
      }
    }
    req.on('response', (res) => {
      answered = { status: res.statusCode ?? 0, headers: res.headers }
      res.resume()
      res.on('end', () => req.socket?.once('close', () => resolve({ ...answered!, sent, closed: true })))
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Writing into a connection the server closed after its answer.
      if (answered) resolve({ ...answered, sent, closed: true })
      else reject(error)
    })
    pump()
  })
}

describe('unauthenticated callers cannot exhaust memory, disk or the database', () => {
  const track = closeAfterEach()

  it('body limits count the bytes read, chunked or not: 413, then the connection closes', async () => {
    const h = track(await startHarness())
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    for (const path of ['/auth/sign-in', '/auth/sign-out', '/auth/link', '/auth/backchannel-logout']) {
      const res = await flood(`${h.url}${path}`, form)
      expect(res.status, path).toBe(413)
      expect(res.headers.connection, path).toBe('close')
      expect(res.closed, path).toBe(true)
      // The answer came long before the 64 MiB the client was ready to send.
      expect(res.sent, path).toBeLessThan(16 * 1_048_576)
    }
    // A declared Content-Length over the limit is refused before anything is read.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${h.url}/auth/sign-in`,
        { method: 'POST', headers: { ...form, 'content-length': '999999999' } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.write('csrf=x')
    })
    expect(status).toBe(413)
  })

  it('an administrator’s request body is bounded too', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      }),
    )
    const admin = new TestBrowser()
    await signIn(admin, h, 'admin')
    const cookie = `otpki_session=${await admin.cookie(h.url, 'otpki_session')}`
    const res = await flood(`${h.url}/admin/users/admin/certificates`, {
      'content-type': 'application/json',
      origin: h.url,
      cookie,
    })
    expect(res.status).toBe(413)
    expect(res.closed).toBe(true)
    // Refused before reading (no admin): the connection closes all the same, the body is never received.
    const anonymous = await flood(`${h.url}/admin/users/admin/certificates`, {
      'content-type': 'application/json',
      origin: h.url,
    })
    expect(anonymous.status).toBe(401)
    expect(anonymous.closed).toBe(true)
    expect(anonymous.sent).toBeLessThan(16 * 1_048_576)
  })

  it('a flood of sign-in starts from one address is cut at its rate limit (429, Retry-After), and so are the rows it leaves', async () => {
    // The clock stands still during the flood: no refill, so the bound is exact.
    const h = track(await startHarness({ clock: new ManualClock(Date.now()) }))
    const heapBefore = process.memoryUsage().heapUsed
    const rowsBefore = await rows(h, 'auth_transactions')
    const statuses: Record<number, number> = {}
    let retryAfter: string | null = null
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`${h.url}/auth/sign-in?provider=dev`, { redirect: 'manual' })
      statuses[res.status] = (statuses[res.status] ?? 0) + 1
      if (res.status === 429) retryAfter = res.headers.get('retry-after')
      await res.text()
    }
    const rowsAfter = await rows(h, 'auth_transactions')
    console.info(
      `flood of 400 sign-in starts from one address: ${JSON.stringify(statuses)}; pending sign-in rows ${rowsBefore} -> ${rowsAfter}; heap ${(heapBefore / 1_048_576).toFixed(1)} -> ${(process.memoryUsage().heapUsed / 1_048_576).toFixed(1)} MiB`,
    )
    expect(statuses).toEqual({ 303: 120, 429: 280 })
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(rowsAfter).toBe(120)
    expect(h.logs.messages().join('\n')).toMatch(/sign-in rate limit reached for 127\.0\.0\.1/)
  })

  it('starts from many addresses stop at the global bound on pending sign-ins (503, Retry-After)', async () => {
    const h = track(
      await startHarness({ overrides: { rateLimit: { trustedProxies: ['127.0.0.1', '::1'], maxPendingSignIns: 60 } } }),
    )
    const statuses: Record<number, number> = {}
    for (let i = 0; i < 150; i++) {
      // Each request names another client behind the trusted proxy (header values only; nothing is sent there).
      const res = await fetch(`${h.url}/auth/sign-in?provider=dev`, {
        redirect: 'manual',
        headers: { 'x-forwarded-for': `192.0.2.${i % 250}` },
      })
      statuses[res.status] = (statuses[res.status] ?? 0) + 1
      if (res.status === 503) expect(res.headers.get('retry-after')).toBe('60')
      await res.text()
    }
    const pending = await rows(h, 'auth_transactions')
    console.info(
      `150 sign-in starts from 150 addresses: ${JSON.stringify(statuses)}; pending sign-in rows ${pending} (bound 60)`,
    )
    expect(statuses).toEqual({ 303: 60, 503: 90 })
    expect(pending).toBe(60)
  })

  it('callbacks and refused credentials are limited per address; X-Forwarded-For counts only from a trusted proxy', async () => {
    const h = track(await startHarness({ overrides: { rateLimit: { callbackPerMinute: 5, failedAuthPerMinute: 5 } } }))
    const callbacks = []
    for (let i = 0; i < 7; i++) callbacks.push((await fetch(`${h.url}/auth/callback?code=x&state=y`)).status)
    expect(callbacks).toEqual([400, 400, 400, 400, 400, 429, 429])

    const bearer = []
    for (let i = 0; i < 7; i++) {
      // A spoofed X-Forwarded-For from an untrusted peer does not buy a fresh budget.
      const res = await fetch(`${h.url}/auth/me`, {
        headers: { authorization: `Bearer not-a-token-${i}`, 'x-forwarded-for': `198.51.100.${i}` },
      })
      bearer.push(res.status)
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(await res.json()).toMatchObject({ error: 'rate_limited' })
      }
    }
    expect(bearer).toEqual([401, 401, 401, 401, 401, 429, 429])
    // Session requests are not credential attempts: they go on.
    expect((await fetch(`${h.url}/auth/me`)).status).toBe(401)
  })

  it('refused client certificates spend the same per-address budget', async () => {
    const h = track(
      await startHarness({
        overrides: { clientCertificate: forwardedCertificates(), rateLimit: { failedAuthPerMinute: 2 } },
      }),
    )
    const statuses = []
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${h.url}/auth/me`, { headers: { 'ssl-client-cert': `not-a-certificate-${i}` } })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([401, 401, 429, 429])
  })
})
