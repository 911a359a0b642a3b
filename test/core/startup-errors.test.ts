import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startApp } from '../../core/app.ts'
import { POSTGRES_SECRETS, closeAfterEach, startHarness, type Harness } from '../support/harness.ts'
import { freshPostgres, needsPostgres } from '../support/postgres.ts'
import { ensureBuilt } from '../support/build.ts'
import { CLI } from '../support/cli.ts'

const base = async (overrides: Record<string, unknown> = {}) => ({
  configFile: false as const,
  env: {},
  overrides: {
    database: ':memory:',
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    providersDir: await mkdtemp(join(tmpdir(), 'otpki-start-')),
    ...overrides,
  },
})

/** What an operator meets when the start cannot go on: one clear sentence, never a stack. */
describe('start-up errors', () => {
  it('a port in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const port = (blocker.address() as { port: number }).port
    try {
      await expect(startApp(await base({ port }))).rejects.toThrow(
        `cannot listen on 127.0.0.1:${port}: the port is already in use`,
      )
    } finally {
      blocker.close()
    }
  })

  it('unreadable mTLS files and CA bundle name the key and the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-start-'))
    const missing = join(dir, 'missing.pem')
    await expect(
      startApp(
        await base({
          clientCertificate: {
            enabled: true,
            listen: true,
            listenPort: 0,
            serverKey: missing,
            serverCert: missing,
            clientCa: missing,
          },
        }),
      ),
    ).rejects.toThrow(`clientCertificate.serverKey: cannot read ${missing}: ENOENT`)
    await expect(startApp(await base({ clientCertificate: { enabled: true, caBundle: missing } }))).rejects.toThrow(
      `clientCertificate.caBundle: cannot read ${missing}: ENOENT`,
    )
    await writeFile(join(dir, 'empty.pem'), 'nothing here')
    await expect(
      startApp(await base({ clientCertificate: { enabled: true, caBundle: join(dir, 'empty.pem') } })),
    ).rejects.toThrow('holds no PEM certificate')
  })

  it('a database that cannot be opened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-start-'))
    await writeFile(join(dir, 'not-a-dir'), 'x')
    await expect(startApp(await base({ database: join(dir, 'not-a-dir', 'otpki.sqlite') }))).rejects.toThrow(
      /^cannot open the database .*not-a-dir\/otpki\.sqlite: /,
    )
  })

  it('a database value that is neither a file path nor a supported URL', async () => {
    await expect(startApp(await base({ database: 'mysql://db.example.com/otpki' }))).rejects.toThrow(
      'database: mysql:// is not a supported database (a file path for SQLite, or postgres://user@host:5432/name)',
    )
    await expect(startApp(await base({ database: 'postgres:db.example.com/otpki' }))).rejects.toThrow(
      'is neither a file path nor a supported URL',
    )
  })

  it('PostgreSQL without the settings every instance must share', async () => {
    await expect(startApp(await base({ database: 'postgres://otpki@127.0.0.1:5432/otpki' }))).rejects.toThrow(
      'secret and tokenEncryptionKey must be set when the database is PostgreSQL',
    )
  })

  it('a PostgreSQL server that does not answer names the URL, never the password', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()))
    const port = (closed.address() as { port: number }).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const start = startApp(
      await base({
        database: `postgres://otpki:hunter2-password@127.0.0.1:${port}/otpki`,
        secret: 'shared-secret-0123456789abcdef',
        tokenEncryptionKey: 'shared-key-0123456789abcdef',
      }),
    )
    await expect(start).rejects.toThrow(`cannot open the database postgres://otpki@127.0.0.1:${port}/otpki`)
    await expect(start).rejects.not.toThrow('hunter2')
  })
})

describe('start-up errors on a reachable PostgreSQL', () => {
  if (!needsPostgres()) return

  it('databaseTls require against a server that offers no TLS is refused, naming the database', async () => {
    const db = await freshPostgres()
    try {
      const start = startApp(await base({ database: db.url, databaseTls: 'require', ...POSTGRES_SECRETS }))
      await expect(start).rejects.toThrow(
        /^cannot open the database postgres:\/\/postgres@127\.0\.0\.1:5432\/otpki_test_\w+: .*SSL/i,
      )
    } finally {
      await db.drop()
    }
  })
})

describe('start-up warnings', () => {
  const track = closeAfterEach()
  const warned = (h: Harness) => h.logs.lines.some((l) => String(l.msg).startsWith('tokenEncryptionKey is not set'))

  it('otpki start warns when the token encryption key is a file generated beside the database', async () => {
    expect(warned(track(await startHarness()))).toBe(true)
    expect(warned(track(await startHarness({ overrides: { tokenEncryptionKey: 'k'.repeat(32) } })))).toBe(false)
  })
})

describe('otpki dev with the development provider’s port taken', () => {
  it('says so in one line, naming the variable to change', async () => {
    ensureBuilt()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const taken = (blocker.address() as { port: number }).port
    const dir = await mkdtemp(join(tmpdir(), 'otpki-dev-port-'))
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_')))
      const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [CLI, 'dev'],
          {
            cwd: dir,
            env: {
              ...env,
              OTPKI_PORT: '0',
              OTPKI_DEV_PROVIDER_PORT: String(taken),
              OTPKI_MTLS_PORT: '0',
              OTPKI_DATABASE: join(dir, 'otpki.sqlite'),
              OTPKI_PROVIDERS_DIR: dir,
            },
          },
          (error, _stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stderr }),
        ),
      )
      expect(code).toBe(1)
      const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('oidc-provider WARNING'))
      expect(lines).toEqual([
        `otpki: the development provider cannot listen on localhost:${taken}: the port is already in use (another OTPKI, or another program?); set OTPKI_DEV_PROVIDER_PORT to another`,
      ])
    } finally {
      blocker.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
