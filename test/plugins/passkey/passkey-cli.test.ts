import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withServices } from '../../../core/app.ts'
import { packageRoot } from '../../../core/paths.ts'
import passkeyPlugin from '../../../plugins/passkey/index.ts'
import { PasskeyStore } from '../../../plugins/passkey/store.ts'
import { ensureBuilt } from '../../support/build.ts'
import { otpki } from '../../support/cli.ts'
import { SoftAuthenticator } from '../../support/soft-authenticator.ts'

describe('otpki users passkeys / remove-passkey (compiled CLI, the plugin named by path in the config)', () => {
  let dir: string
  let config: string
  const key = new SoftAuthenticator('pki.example.com', 'https://pki.example.com')
  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-passkey-cli-'))
    await mkdir(join(dir, 'providers'))
    config = join(dir, 'otpki.config.ts')
    const plugin = join(packageRoot(), 'plugins/passkey/index.ts')
    await writeFile(
      config,
      `export default { publicUrl: 'https://pki.example.com', database: 'otpki.sqlite', providersDir: 'providers', plugins: [${JSON.stringify(plugin)}] }\n`,
    )
    await withServices(
      {
        configFile: false,
        env: {},
        overrides: {
          publicUrl: 'https://pki.example.com',
          database: join(dir, 'otpki.sqlite'),
          providersDir: join(dir, 'providers'),
          plugins: [passkeyPlugin],
        },
      },
      async (services) => {
        const user = await services.users.createUser('ada', async () => undefined)
        await new PasskeyStore(services).add({
          id: key.id,
          userId: user.id,
          userHandle: 'handle',
          name: 'YubiKey',
          publicKey: key.cosePublicKey(),
          counter: 0,
          transports: ['usb'],
          backedUp: false,
        })
      },
    )
  }, 120_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('lists a user’s passkeys, counts them in users list, and revokes one (audited)', async () => {
    const listed = await otpki(['users', 'passkeys', 'ada', '-c', config])
    expect(listed, listed.stderr).toMatchObject({ code: 0 })
    expect(listed.stdout).toMatch(
      new RegExp(`^${key.id}  YubiKey  added \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC  last used never$`, 'm'),
    )
    const users = await otpki(['users', 'list', '-c', config])
    expect(users.stdout).toMatch(/^USERNAME\s+NAME\s+EMAIL\s+ROLES\s+CERTIFICATES\s+PASSKEYS/m)
    expect(users.stdout).toMatch(/^ada\s+-\s+-\s+-\s+0\s+1$/m)
    const removed = await otpki(['users', 'remove-passkey', 'ada', key.id, '-c', config])
    expect(removed).toMatchObject({ code: 0, stdout: `removed passkey YubiKey (${key.id}) of ada\n` })
    expect((await otpki(['users', 'passkeys', 'ada', '-c', config])).stdout).toBe('ada has no passkey\n')
    const again = await otpki(['users', 'remove-passkey', 'ada', key.id, '-c', config])
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining(`ada has no passkey ${key.id}`) })
    const audit = await otpki(['audit', '--json', '-c', config])
    expect(audit.stdout).toContain('"reason":"passkey.remove"')
  })
})
