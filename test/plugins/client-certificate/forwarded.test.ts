import { testDatabases } from '../../support/postgres.ts'
import { writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { closeAfterEach, startHarness, type Harness } from '../../support/harness.ts'
import { CertificateStore } from '../../../plugins/client-certificate/certificate-store.ts'
import { TestCa, type Issued } from '../../../plugins/dev-provider/throwaway-ca.ts'

/** A request as the ingress (on loopback, a trusted proxy here) forwards it. */
async function asIngress(
  h: Harness,
  path: string,
  headers: Record<string, string> | [string, string][],
  init: RequestInit = {},
) {
  const res = await fetch(`${h.url}${path}`, { ...init, headers })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} }
}

/** Sends a header several times, as separate lines (fetch would fold them into one). */
function withRepeatedHeader(
  h: Harness,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.url}${path}`, { headers }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, any> }))
    })
    req.on('error', reject)
    req.end()
  })
}

const nginx = (i: Issued) => ({ 'ssl-client-cert': encodeURIComponent(i.certPem), 'ssl-client-verify': 'SUCCESS' })

describe.each(testDatabases())('client certificates forwarded by the ingress (%s)', (database) => {
  const track = closeAfterEach()
  let ca: TestCa
  let certs: Record<'robot' | 'expired' | 'future' | 'noCn' | 'twoCn' | 'admin' | 'alice', Issued>
  let foreign: Issued
  beforeAll(async () => {
    ca = await TestCa.create()
    const day = 86400_000
    certs = {
      robot: await ca.client('CN=robot'),
      expired: await ca.client('CN=old-robot', { from: Date.now() - 10 * day, to: Date.now() - day }),
      future: await ca.client('CN=early-robot', { from: Date.now() + day, to: Date.now() + 10 * day }),
      noCn: await ca.client('O=Automation, OU=CI'),
      twoCn: await ca.client('CN=one, CN=two'),
      admin: await ca.client('CN=ops-admin'),
      alice: await ca.client('CN=alice'),
    }
    foreign = await (await TestCa.create('Another CA')).client('CN=intruder')
  })

  const start = async (clientCertificate: Record<string, unknown>) => {
    const h = track(
      await startHarness({
        database,
        overrides: {
          clientCertificate: {
            enabled: true,
            format: 'nginx',
            verifyHeader: 'ssl-client-verify',
            trustedProxies: ['127.0.0.1', '::1'],
            ...clientCertificate,
          },
        },
      }),
    )
    return h
  }

  it('signs a script in by its certificate, creating the user from the CN; no cookie needed or set', async () => {
    const h = await start({ createUnknownUsers: true })
    const res = await fetch(`${h.url}/auth/me`, { headers: nginx(certs.robot) })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await res.json()).toEqual({
      user: { username: 'robot', firstName: null, lastName: null, email: null, roles: [] },
      method: 'client-certificate',
      provider: null,
      session: null,
    })
    const again = await asIngress(h, '/auth/me', nginx(certs.robot))
    expect(again.body.user.username).toBe('robot')
    expect(await new CertificateStore(h.app.services).certificates('robot')).toEqual([
      expect.objectContaining({ fingerprint: certs.robot.fingerprint }),
    ])
  })

  it('refuses with a clear 401: expired, not yet valid, no CN, two CNs, unattached, a taken CN', async () => {
    const h = await start({ createUnknownUsers: true })
    await asIngress(h, '/auth/me', nginx(certs.alice))
    const cases: [Issued, RegExp][] = [
      [certs.expired, /expired at/],
      [certs.future, /not valid before/],
      [certs.noCn, /no common name/],
      [certs.twoCn, /several common names/],
    ]
    for (const [cert, message] of cases) {
      const res = await asIngress(h, '/auth/me', nginx(cert))
      expect(res.status).toBe(401)
      expect(res.body.message).toMatch(message)
    }
    // Another certificate with CN=alice is not alice's: never signed in as the existing user.
    const impostor = await ca.client('CN=alice')
    const taken = await asIngress(h, '/auth/me', nginx(impostor))
    expect(taken.status).toBe(401)
    expect(taken.body.message).toContain('is the username of an existing account')
    expect((await h.app.users.list()).map((u) => u.username)).toEqual(['alice'])

    const strict = await start({ createUnknownUsers: false })
    const unattached = await asIngress(strict, '/auth/me', nginx(certs.robot))
    expect(unattached).toMatchObject({
      status: 401,
      body: { message: expect.stringContaining('not attached to any OTPKI user') },
    })
  })

  it('honours the header only from a trusted proxy, once, and verified', async () => {
    const h = await start({ createUnknownUsers: true, trustedProxies: ['10.1.2.3/32'] })
    const spoofed = await asIngress(h, '/auth/me', nginx(certs.robot))
    expect(spoofed.status).toBe(401)
    expect(spoofed.body.error).toBe('unauthenticated')
    expect(h.logs.messages()).toContain('client certificate header from an untrusted peer ignored')
    expect(await h.app.users.list()).toEqual([])

    const trusted = await start({ createUnknownUsers: true })
    const twice = await withRepeatedHeader(trusted, '/auth/me', {
      'ssl-client-cert': [encodeURIComponent(certs.robot.certPem), encodeURIComponent(certs.admin.certPem)],
      'ssl-client-verify': 'SUCCESS',
    })
    expect(twice).toMatchObject({ status: 401, body: { message: expect.stringContaining('appears 2 times') } })
    // Folded into one line, the two certificates are no certificate either.
    const folded = await asIngress(trusted, '/auth/me', [
      ['ssl-client-cert', encodeURIComponent(certs.robot.certPem)],
      ['ssl-client-cert', encodeURIComponent(certs.admin.certPem)],
      ['ssl-client-verify', 'SUCCESS'],
    ])
    expect(folded.status).toBe(401)
    const failed = await asIngress(trusted, '/auth/me', {
      ...nginx(certs.robot),
      'ssl-client-verify': 'FAILED:certificate has expired',
    })
    expect(failed).toMatchObject({ status: 401, body: { message: expect.stringContaining('did not verify') } })
    const noVerdict = await asIngress(trusted, '/auth/me', {
      'ssl-client-cert': encodeURIComponent(certs.robot.certPem),
    })
    expect(noVerdict.status).toBe(401)
  })

  it('with a CA bundle, verifies the chain in OTPKI', async () => {
    const h = track(await startHarness({ database }))
    await writeFile(join(h.dir, 'ca.pem'), ca.root.certPem)
    const checked = await start({ createUnknownUsers: true, verifyHeader: undefined, caBundle: join(h.dir, 'ca.pem') })
    expect((await asIngress(checked, '/auth/me', nginx(certs.robot))).status).toBe(200)
    const intruder = await asIngress(checked, '/auth/me', nginx(foreign))
    expect(intruder).toMatchObject({
      status: 401,
      body: { message: expect.stringContaining('not issued by a CA in the configured bundle') },
    })
  })

  it('administration: only administrators attach, list and detach; a certificate belongs to one user', async () => {
    const h = await start({ createUnknownUsers: true })
    await asIngress(h, '/auth/me', nginx(certs.admin))
    await asIngress(h, '/auth/me', nginx(certs.alice))
    expect((await asIngress(h, '/admin/users', nginx(certs.alice))).status).toBe(403)
    expect((await asIngress(h, '/admin/users', {})).status).toBe(401)
    await h.app.orm.em
      .fork()
      .getConnection()
      .execute("insert into roles (name, system, created_at) values ('admin', false, 0)")
    await h.app.orm.em
      .fork()
      .getConnection()
      .execute(
        "insert into user_roles (user_id, role_id, source, created_at) select u.id, r.id, null, 0 from users u, roles r where u.username = 'ops-admin' and r.name = 'admin'",
      )
    // Granted behind OTPKI's back (SQL): announce the change, as a grant through OTPKI does.
    h.app.users.changed((await h.app.users.findByUsername('ops-admin'))!.id)
    await new CertificateStore(h.app.services).detach('alice', certs.alice.fingerprint)
    const list = await asIngress(h, '/admin/users', nginx(certs.admin))
    expect(list.body.users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ username: 'ops-admin', roles: ['admin'], certificates: 1 }),
        expect.objectContaining({ username: 'alice', certificates: 0 }),
      ]),
    )
    const json = { ...nginx(certs.admin), 'content-type': 'application/json' }
    const attach = await asIngress(h, '/admin/users/alice/certificates', json, {
      method: 'POST',
      body: JSON.stringify({ pem: certs.alice.certPem }),
    })
    expect(attach).toMatchObject({ status: 201, body: { certificate: { fingerprint: certs.alice.fingerprint } } })
    expect((await asIngress(h, '/auth/me', nginx(certs.alice))).body.user.username).toBe('alice')
    const stolen = await asIngress(h, '/admin/users/ops-admin/certificates', json, {
      method: 'POST',
      body: JSON.stringify({ pem: certs.alice.certPem }),
    })
    expect(stolen.status).toBe(409)
    const bad = await asIngress(h, '/admin/users/alice/certificates', json, {
      method: 'POST',
      body: JSON.stringify({ pem: 'nope' }),
    })
    expect(bad.status).toBe(400)
    expect((await asIngress(h, '/admin/users/alice/certificates', nginx(certs.admin))).body.certificates).toHaveLength(
      1,
    )
    const detach = await asIngress(
      h,
      `/admin/users/alice/certificates/${certs.alice.fingerprint}`,
      nginx(certs.admin),
      { method: 'DELETE' },
    )
    expect(detach.status).toBe(200)
    expect((await asIngress(h, '/auth/me', nginx(certs.alice))).status).toBe(401)
  })

  it('warns when no OIDC provider is left and no administrator holds a certificate', async () => {
    const h = await start({})
    await h.removeProvider('dev.json')
    await h.logs.waitFor((l) => String(l.msg).includes('nobody will be able to administer OTPKI'))
  })
})
