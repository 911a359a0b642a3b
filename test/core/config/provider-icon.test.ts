import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ICON_MAX_BYTES } from '../../../core/config/provider-icon.ts'
import { loadProviderFile } from '../../../core/config/provider-loader.ts'
import { freePort } from '../../support/harness.ts'
import { providerDefaults } from '../../support/provider-defaults.ts'

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

describe('provider icons', () => {
  let dir: string
  let base: string
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    if (req.url === '/logo.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
    else if (req.url === '/big.png') res.writeHead(200).end(Buffer.concat([PNG, Buffer.alloc(ICON_MAX_BYTES)]))
    else if (req.url === '/page.html')
      res.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>')
    else res.writeHead(404).end()
  })
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otpki-icon-'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => server.close())

  const load = async (icon: unknown, name = 'p') => {
    const file = join(dir, `${name}.json`)
    await writeFile(file, JSON.stringify({ issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', icon }))
    return loadProviderFile(file, providerDefaults)
  }

  it('reads a file beside the provider file, or a URL once, as a data URL of the type its bytes say', async () => {
    await writeFile(join(dir, 'logo.png'), PNG)
    const fromFile = await load('logo.png', 'file')
    expect(fromFile.ok && fromFile.provider.icon).toEqual({
      source: 'logo.png',
      dataUrl: `data:image/png;base64,${PNG.toString('base64')}`,
    })
    const fromUrl = await load(`${base}/logo.png`, 'url')
    expect(fromUrl.ok && fromUrl.provider.icon?.dataUrl).toBe(`data:image/png;base64,${PNG.toString('base64')}`)
    const before = hits
    await load(`${base}/logo.png`, 'url')
    expect(hits).toBe(before)
  })

  it('an icon that cannot be used is a warning with its reason; the provider loads without it', async () => {
    const closedPort = await freePort()
    for (const [icon, reason] of [
      [`${base}/big.png`, `larger than ${ICON_MAX_BYTES} bytes`],
      [`${base}/page.html`, 'is not a PNG, JPEG, GIF, WebP, ICO or SVG image'],
      [`${base}/missing.png`, 'HTTP 404'],
      [`http://127.0.0.1:${closedPort}/logo.png`, 'connection refused'],
      ['nowhere.png', 'cannot read'],
    ] as const) {
      const result = await load(icon, `bad-${reason.length}`)
      expect(result.ok, icon).toBe(true)
      if (!result.ok) continue
      expect(result.provider.icon).toEqual({ source: icon })
      expect(result.warnings.join('\n')).toMatch(
        new RegExp(`^icon: .*${reason}.*; the provider is shown without it$`, 'm'),
      )
    }
  })

  it('refuses an icon URL that is neither https nor on loopback', async () => {
    const result = await load('http://icons.example.com/logo.png', 'plain')
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(result.issues).toContainEqual({
        key: 'icon',
        reason: 'must be an https URL (http only on loopback) or a file path',
      })
  })
})
