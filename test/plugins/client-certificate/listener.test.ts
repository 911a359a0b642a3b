import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TestCa } from '../../../plugins/dev-provider/throwaway-ca.ts'
import { closeAfterEach, startHarness } from '../../support/harness.ts'
import { mtlsGet } from '../../support/mtls.ts'

describe('the mTLS listener', () => {
  const track = closeAfterEach()

  it('signs in by the TLS client certificate; refuses one from another CA, and answers 401 without one', async () => {
    const ca = await TestCa.create()
    const server = await ca.server()
    const client = await ca.client('CN=ci-runner')
    const foreign = await (await TestCa.create('Elsewhere')).client('CN=ci-runner')
    const h0 = track(await startHarness())
    const files = { key: join(h0.dir, 'server-key.pem'), cert: join(h0.dir, 'server.pem'), ca: join(h0.dir, 'ca.pem') }
    await writeFile(files.key, server.keyPem)
    await writeFile(files.cert, server.certPem)
    await writeFile(files.ca, ca.root.certPem)
    const h = track(
      await startHarness({
        overrides: {
          clientCertificate: {
            enabled: true,
            createUnknownUsers: true,
            listen: true,
            listenHost: '127.0.0.1',
            listenPort: 0,
            serverKey: files.key,
            serverCert: files.cert,
            clientCa: files.ca,
          },
        },
      }),
    )
    const url = `${h.app.listeners.mtls!.replace('127.0.0.1', 'localhost')}/auth/me`
    const ok = await mtlsGet(url, { ca: ca.root.certPem, cert: client.certPem, key: client.keyPem })
    expect(ok).toEqual({
      status: 200,
      body: {
        user: expect.objectContaining({ username: 'ci-runner' }),
        method: 'client-certificate',
        provider: null,
        session: null,
      },
    })
    const refused = await mtlsGet(url, { ca: ca.root.certPem, cert: foreign.certPem, key: foreign.keyPem })
    expect(refused.status).toBe(401)
    expect(refused.body.message).toMatch(/client certificate was refused/)
    expect((await mtlsGet(url, { ca: ca.root.certPem })).status).toBe(401)
  })
})
