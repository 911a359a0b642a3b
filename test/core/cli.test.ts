import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDevProvider, type DevProvider } from '../../plugins/dev-provider/dev-provider.ts'
import { ensureBuilt } from '../support/build.ts'
import { otpki } from '../support/cli.ts'
import { freePort } from '../support/harness.ts'
import { packageRoot } from '../../core/paths.ts'
import { withServices } from '../../core/app.ts'
import { CertificateStore } from '../../plugins/client-certificate/certificate-store.ts'
import { openDatabase } from '../../core/store/orm.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'

describe('otpki CLI (compiled)', () => {
  let dir: string
  let provider: DevProvider
  const secret = 'cli-test-secret-7c1e'

  beforeAll(async () => {
    ensureBuilt()
    provider = await startDevProvider({ port: 0, clients: [] })
    dir = await mkdtemp(join(tmpdir(), 'otpki-cli-'))
    await mkdir(join(dir, 'providers'))
    await writeFile(
      join(dir, 'otpki.config.ts'),
      "export default { publicUrl: 'https://pki.example.com', providersDir: 'providers' }\n",
    )
    await writeFile(
      join(dir, 'providers', 'corp.json'),
      JSON.stringify({
        displayName: 'Corp',
        issuer: provider.issuer,
        clientId: 'otpki-corp',
        clientSecret: secret,
        createUnknownRoles: true,
      }),
    )
  }, 120_000)
  afterAll(() => provider?.close())

  it('providers lists name, client ID, issuer, redirect URL and flags, never the secret', async () => {
    const { code, stdout } = await otpki(['providers', '--config', join(dir, 'otpki.config.ts')])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^NAME\s+CLIENT ID\s+ISSUER\s+DISCOVERY\s+REDIRECT URL\s+CREATE USERS\s+CREATE ROLES/m)
    expect(stdout).toMatch(
      new RegExp(
        `^corp\\s+otpki-corp\\s+${provider.issuer}\\s+auto\\s+https://pki.example.com/auth/callback\\s+true\\s+true`,
        'm',
      ),
    )
    expect(stdout).not.toContain(secret)
    const json = await otpki(['providers', '--json', '--config', join(dir, 'otpki.config.ts')])
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ name: 'corp', clientId: 'otpki-corp', issuer: provider.issuer }),
    ])
    expect(json.stdout).not.toContain(secret)
  })

  it('check passes a valid configuration and reports the provider ready', async () => {
    const { code, stdout } = await otpki(['check', '--config', join(dir, 'otpki.config.ts')])
    expect(code).toBe(0)
    expect(stdout).toContain('provider corp')
    expect(stdout).toContain(': ready')
    expect(stdout).toContain('configuration ok')
  })

  it('schema prints every schema it publishes, or the one named', async () => {
    const all = await otpki(['schema'])
    expect(all.code).toBe(0)
    for (const file of ['schema/provider.schema.json', 'schema/config.schema.json', 'docs/config-keys.md'])
      expect(all.stdout).toContain(`# ${file}\n`)
    const config = await otpki(['schema', 'config'])
    expect(JSON.parse(config.stdout).title).toBe('OTPKI main configuration')
    const wrong = await otpki(['schema', 'everything'])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('one of provider, config, keys')
  })

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8'))
    for (const flag of ['--version', '-V']) {
      const { code, stdout } = await otpki([flag])
      expect(code).toBe(0)
      expect(stdout.trim()).toBe(version)
    }
  })

  it('check reports a provider that cannot be reached, with the reason, without failing', async () => {
    // A port nothing listens on: connection refused.
    const closed = await freePort()
    await writeFile(
      join(dir, 'providers', 'gone.json'),
      JSON.stringify({ issuer: `http://127.0.0.1:${closed}/realms/gone`, clientId: 'x', clientSecret: secret }),
    )
    const { code, stdout, stderr } = await otpki(['check', '--config', join(dir, 'otpki.config.ts')])
    expect(code).toBe(0)
    expect(stdout).toContain('provider corp')
    // What failed, and where.
    expect(stderr).toContain(
      `warning: provider gone (${join(dir, 'providers', 'gone.json')}): unavailable: discovery at http://127.0.0.1:${closed}/realms/gone/.well-known/openid-configuration failed: connection refused at 127.0.0.1:${closed}`,
    )
    await rm(join(dir, 'providers', 'gone.json'))
  })

  it('check exits 1 with each error and its file', async () => {
    await writeFile(
      join(dir, 'providers', 'broken.json'),
      JSON.stringify({ issuer: 'http://sso.example.com', clientId: 'x', clientSecret: secret, scope: ['openid'] }),
    )
    const { code, stderr } = await otpki(['check', '--config', join(dir, 'otpki.config.ts')])
    expect(code).toBe(1)
    const file = join(dir, 'providers', 'broken.json')
    expect(stderr).toContain(`error: ${file}: scope: is not a known key`)
    expect(stderr).not.toContain(secret)
  })

  it('users list, attach-cert and detach-cert', async () => {
    const ca = await TestCa.create()
    const first = await ca.client('CN=deploy-bot')
    const second = await ca.client('CN=deploy-bot-2')
    const config = join(dir, 'users.config.ts')
    await writeFile(config, "export default { database: 'users.sqlite', providersDir: 'providers' }\n")
    await withServices({ configFile: config, env: {} }, (services) =>
      new CertificateStore(services).createUserWith('deploy-bot', first.certPem),
    )
    await writeFile(join(dir, 'second.pem'), second.certPem)

    const attached = await otpki(['users', 'attach-cert', 'deploy-bot', join(dir, 'second.pem'), '-c', config])
    expect(attached).toMatchObject({ code: 0, stdout: expect.stringContaining(`attached ${second.fingerprint}`) })
    const list = await otpki(['users', 'list', '-c', config])
    expect(list.stdout).toMatch(/^USERNAME\s+NAME\s+EMAIL\s+ROLES\s+CERTIFICATES/m)
    expect(list.stdout).toMatch(/^deploy-bot\s+-\s+-\s+-\s+2$/m)
    const detached = await otpki(['users', 'detach-cert', 'deploy-bot', first.fingerprint, '-c', config])
    expect(detached).toMatchObject({ code: 0, stdout: expect.stringContaining(`detached ${first.fingerprint}`) })
    const again = await otpki(['users', 'detach-cert', 'deploy-bot', first.fingerprint, '-c', config])
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('has no certificate') })
    const nobody = await otpki(['users', 'attach-cert', 'nobody', join(dir, 'second.pem'), '-c', config])
    expect(nobody).toMatchObject({ code: 1, stderr: expect.stringContaining('no user nobody') })
  })

  it('strips terminal control characters from stored values it prints', async () => {
    const ca = await TestCa.create()
    const cert = await ca.client('CN=ops-bot, O=Evil\u001b]0;owned\u0007 Corp')
    const config = join(dir, 'control.config.ts')
    await writeFile(config, "export default { database: 'control.sqlite', providersDir: 'providers' }\n")
    await withServices({ configFile: config, env: {} }, async (services) => {
      await new CertificateStore(services).createUserWith('ops-bot', (await ca.client('CN=ops-bot')).certPem)
    })
    // A name stored before names were checked, or written by another tool.
    const orm = await openDatabase(join(dir, 'control.sqlite'))
    await orm.em
      .fork()
      .getConnection()
      .execute("update users set first_name = 'Mallory\u001b[2J\u009b31m', email = 'm\u202eallory@example.test'")
    await orm.close()
    await writeFile(join(dir, 'control.pem'), cert.certPem)
    const attached = await otpki(['users', 'attach-cert', 'ops-bot', join(dir, 'control.pem'), '-c', config])
    const list = await otpki(['users', 'list', '-c', config])
    for (const out of [attached.stdout, list.stdout])
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/)
    expect(attached.stdout).toContain('attached')
    expect(list.stdout).toMatch(/Mallory\ufffd\[2J\ufffd31m/)
  })

  it('db migrate applies the migrations once, then finds the schema current', async () => {
    const config = join(dir, 'migrate.config.json')
    await writeFile(config, JSON.stringify({ database: 'migrate.sqlite', providersDir: 'providers' }))
    const first = await otpki(['db', 'migrate', '-c', config])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/migrate\.sqlite: applied 001-initial-schema, .*004-certificates/)
    const again = await otpki(['db', 'migrate', '-c', config])
    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/migrate\.sqlite: the schema is current/) })
  })

  it('check exits 1 on an invalid main config, naming file and key', async () => {
    await writeFile(join(dir, 'bad.config.ts'), 'export default { port: "http" }\n')
    const { code, stderr } = await otpki(['check', '--config', join(dir, 'bad.config.ts')])
    expect(code).toBe(1)
    expect(stderr).toContain(`${join(dir, 'bad.config.ts')}: port: must be a whole number`)
  })
})
