import { writeFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TestCa } from '../../../plugins/dev-provider/throwaway-ca.ts'
import { closeAfterEach, freePort, startHarness } from '../../support/harness.ts'
import { NGINX, startNginx } from '../../support/nginx.ts'
import { needs } from '../../support/needs.ts'

function viaNginx(url: string, tls: { ca: string; cert?: string; key?: string }, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Record<string, any>; text: string }>((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, headers, servername: 'localhost' }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => {
        let body: Record<string, any> = {}
        try {
          body = JSON.parse(text) as Record<string, any>
        } catch {
          // nginx's own error pages are HTML
        }
        resolve({ status: res.statusCode ?? 0, body, text })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('client certificates through real nginx', () => {
  if (!needs('nginx', Boolean(NGINX), 'apt-get install nginx')) return
  const track = closeAfterEach()

  it('nginx terminates mTLS and forwards the escaped certificate; OTPKI signs the script in', async () => {
    const ca = await TestCa.create()
    const server = await ca.server()
    const robot = await ca.client('CN=robot')
    const admin = await ca.client('CN=admin')
    const expired = await ca.client('CN=old', { from: Date.now() - 10 * 86400_000, to: Date.now() - 86400_000 })
    const h = track(
      await startHarness({
        overrides: {
          clientCertificate: {
            enabled: true,
            format: 'nginx',
            verifyHeader: 'ssl-client-verify',
            trustedProxies: ['127.0.0.1'],
            createUnknownUsers: true,
          },
        },
      }),
    )
    await writeFile(join(h.dir, 'server.pem'), server.certPem)
    await writeFile(join(h.dir, 'server-key.pem'), server.keyPem)
    await writeFile(join(h.dir, 'ca.pem'), ca.root.certPem)
    const port = await freePort()
    const nginx = track(
      await startNginx(
        h.dir,
        port,
        `server {
          listen 127.0.0.1:${port} ssl;
          ssl_certificate ${join(h.dir, 'server.pem')};
          ssl_certificate_key ${join(h.dir, 'server-key.pem')};
          ssl_client_certificate ${join(h.dir, 'ca.pem')};
          ssl_verify_client optional;
          location / {
            proxy_pass ${h.url};
            proxy_set_header ssl-client-cert $ssl_client_escaped_cert;
            proxy_set_header ssl-client-verify $ssl_client_verify;
          }
        }`,
      ),
    )
    const url = `https://localhost:${port}/auth/me`
    const tls = { ca: ca.root.certPem }
    const ok = await viaNginx(url, { ...tls, cert: robot.certPem, key: robot.keyPem })
    expect(ok).toMatchObject({
      status: 200,
      body: {
        user: expect.objectContaining({ username: 'robot' }),
        method: 'client-certificate',
        provider: null,
        session: null,
      },
    })

    // A header the client sends itself is replaced by nginx: robot stays robot.
    const forged = await viaNginx(
      url,
      { ...tls, cert: robot.certPem, key: robot.keyPem },
      { 'ssl-client-cert': encodeURIComponent(admin.certPem), 'ssl-client-verify': 'SUCCESS' },
    )
    expect(forged.body.user.username).toBe('robot')

    // An expired certificate fails nginx's own verification: nginx answers, OTPKI never sees it.
    const old = await viaNginx(url, { ...tls, cert: expired.certPem, key: expired.keyPem })
    expect(old.status).toBe(400)
    expect(old.text).toContain('SSL certificate error')
    expect(h.logs.raw.join('\n')).not.toContain('"user":"old"')

    // No certificate at all: not signed in.
    expect((await viaNginx(url, tls)).status).toBe(401)
    expect(await nginx.errors()).not.toMatch(/\[emerg\]/)
  })
})
