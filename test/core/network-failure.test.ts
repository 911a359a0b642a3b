import { createServer as createHttp, type Server } from 'node:http'
import { createServer as createHttps } from 'node:https'
import * as client from 'openid-client'
import { afterEach, describe, expect, it } from 'vitest'
import { describeNetworkFailure } from '../../core/network-failure.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { freePort } from '../support/harness.ts'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})
const listen = async (server: Server) => {
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as { port: number }).port
}
/** What discovery at `url` fails with, described. */
const failure = async (url: string, timeout = 5) => {
  const error = await client
    .discovery(new URL(url), 'x', undefined, undefined, { timeout, execute: [client.allowInsecureRequests] })
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  expect(error).toBeDefined()
  return describeNetworkFailure(error, url)
}

describe('a failed request to another server says what failed', () => {
  it('connection refused, with the address', async () => {
    const port = await freePort()
    expect(await failure(`http://127.0.0.1:${port}/realm`)).toBe(`connection refused at 127.0.0.1:${port}`)
  })
  it('a name that does not resolve', async () => {
    expect(await failure('https://name-that-does-not-exist.invalid/realm')).toMatch(
      /^name not resolved: name-that-does-not-exist\.invalid/,
    )
  })
  it('the HTTP status, with the URL', async () => {
    const port = await listen(
      createHttp((_req, res) => {
        res.statusCode = 503
        res.end('down')
      }),
    )
    expect(await failure(`http://127.0.0.1:${port}/realm`)).toBe(
      `HTTP 503 Service Unavailable from http://127.0.0.1:${port}/realm/.well-known/openid-configuration`,
    )
  })
  it('a TLS error: a certificate nothing trusts', async () => {
    const ca = await TestCa.create()
    const cert = await ca.server()
    const port = await listen(createHttps({ cert: cert.certPem, key: cert.keyPem }, (_q, r) => r.end('{}')))
    expect(await failure(`https://localhost:${port}/realm`)).toMatch(
      /^TLS error: unable to verify the first certificate/,
    )
  })
  it('a time-out', async () => {
    const port = await listen(createHttp(() => undefined))
    expect(await failure(`http://127.0.0.1:${port}/realm`, 1)).toBe(`timed out (http://127.0.0.1:${port}/realm)`)
  })
})
