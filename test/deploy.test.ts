import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../core/paths.ts'
import { needs } from './support/needs.ts'

const root = packageRoot()
const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p))

describe('the systemd unit (deploy/otpki.service)', () => {
  if (!needs('systemd-analyze', Boolean(SYSTEMD_ANALYZE), 'apt-get install systemd')) return

  it('passes systemd-analyze verify without a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-unit-'))
    try {
      // The unit as shipped, with ExecStart pointing at this checkout's otpki (verify checks that it is executable).
      const unit = (await readFile(join(root, 'deploy/otpki.service'), 'utf8')).replace(
        'ExecStart=/usr/bin/otpki start',
        `ExecStart=${join(root, 'bin/otpki.js')} start`,
      )
      expect(unit).toContain(`ExecStart=${join(root, 'bin/otpki.js')} start`)
      const file = join(dir, 'otpki.service')
      await writeFile(file, unit)
      const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(SYSTEMD_ANALYZE!, ['verify', file], (error, _stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
        ),
      )
      expect(stderr).toBe('')
      expect(code).toBe(0)
      for (const directive of ['User=otpki', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'Restart=on-failure'])
        expect(unit).toContain(directive)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the container recipe (Dockerfile)', () => {
  it('builds in one stage and runs in another, as a user that is not root, with a health check', async () => {
    const text = await readFile(join(root, 'Dockerfile'), 'utf8')
    expect(text.match(/^FROM /gm)?.length).toBe(2)
    expect(text).toMatch(/^FROM \S+ AS build$/m)
    expect(text).toMatch(/^USER node$/m)
    expect(text).toMatch(/^HEALTHCHECK .*\n\s+CMD .*\/healthz/m)
    // Everything the run stage copies from the build exists there: the repository's files, or what npm run build makes.
    for (const [, path] of text.matchAll(/^COPY --from=build \/src\/(\S+)/gm)) {
      const made = ['node_modules', 'dist'].includes(path!)
      expect(made || existsSync(join(root, path!)), path).toBe(true)
    }
  })
})
