import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadProviderFile } from '../../core/config/provider-loader.ts'
import { providerDefaults } from '../support/provider-defaults.ts'
import { loadMainConfig } from '../../core/config/main-config.ts'
import { packageRoot } from '../../core/paths.ts'
import { ensureBuilt } from '../support/build.ts'

const root = packageRoot()
const defaults = providerDefaults

describe('committed configuration files', () => {
  beforeAll(() => ensureBuilt(), 120_000)

  it.each(readdirSync(join(root, 'config/examples')))(
    'example provider %s is valid apart from its secret',
    async (name) => {
      const result = await loadProviderFile(join(root, 'config/examples', name), defaults)
      // The examples name secrets that exist only in a real deployment.
      const issues = result.ok ? [] : result.issues
      expect(issues.filter((i) => i.key !== 'clientSecret')).toEqual([])
    },
  )

  it('the development provider file is valid', async () => {
    const result = await loadProviderFile(join(root, 'plugins/dev-provider/providers/development.ts'), defaults)
    expect(result.ok && result.provider).toMatchObject({
      name: 'development',
      issuer: 'http://localhost:3001',
      createUnknownRoles: true,
    })
  })

  it('otpki.config.ts is valid', async () => {
    const config = await loadMainConfig(join(root, 'otpki.config.ts'), { env: {} })
    expect(config).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      database: join(root, 'data/otpki.sqlite'),
      providersDir: join(root, 'config/providers'),
    })
  })
})
