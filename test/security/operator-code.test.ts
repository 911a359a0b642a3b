import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startApp } from '../../core/app.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, freePort, LogCapture, me, signIn, startHarness } from '../support/harness.ts'

/**
 * SECURITY.md, "Resources": operator code (a `.ts` provider or plugin) that
 * hangs or loops is reported for that file and cannot stop the server from
 * serving or reloading.
 */
describe('operator code cannot freeze the server', () => {
  const track = closeAfterEach()
  const provider = (issuer: string, body = '') =>
    `${body}\nexport default { issuer: ${JSON.stringify(issuer)}, clientId: 'c', clientSecret: 's' }\n`

  it.each([
    ['loops forever', 'while (true) {}'],
    ['never finishes loading (a top-level await that never settles)', 'await new Promise(() => {})'],
  ])(
    'a provider file that %s is reported; its last good definition stays, and the server serves and reloads',
    async (_what, body) => {
      const h = track(await startHarness())
      const browser = new TestBrowser()
      await signIn(browser, h, 'alice')
      await h.writeProvider('slow.ts', provider('https://slow.example'))
      expect(h.app.registry.get('slow')?.definition.issuer).toBe('https://slow.example')
      // Read after slow.ts in the same reload: it must not pay for the worker ended after slow.ts.
      await h.writeProvider('zz-after.ts', provider('https://after.example'))

      let settled = false
      const reads = h.logs.lines.filter((l) => l.msg === 'reading provider files').length
      const stuck = h
        .writeProvider('slow.ts', provider('https://changed.example', body))
        .finally(() => (settled = true))
      // While the file is being evaluated (off the serving thread), requests are answered.
      await h.logs.waitFor(() => h.logs.lines.filter((l) => l.msg === 'reading provider files').length > reads)
      for (let i = 0; i < 5; i++) {
        expect((await fetch(`${h.url}/healthz`)).status).toBe(200)
        expect((await me(browser, h)).status).toBe(200)
      }
      expect(settled).toBe(false)
      const report = await stuck
      expect(report.issues.map((i) => `${i.file.split('/').at(-1)}: ${i.reason}`)).toEqual([
        expect.stringMatching(/^slow\.ts: did not finish loading within 5 s/),
      ])
      expect(h.app.registry.get('zz-after')?.definition.issuer).toBe('https://after.example')
      expect(h.app.registry.get('slow')?.definition.issuer).toBe('https://slow.example')
      expect(h.logs.messages().join('\n')).toMatch(
        /slow\.ts: \(file\): did not finish loading.*last good definition stays in force/,
      )

      // The next reload is not stuck behind it: a fixed file applies.
      const fixed = await h.writeProvider('slow.ts', provider('https://fixed.example'))
      expect(fixed.issues).toEqual([])
      expect(h.app.registry.get('slow')?.definition.issuer).toBe('https://fixed.example')
    },
  )

  it('a provider file must export plain data', async () => {
    const h = track(await startHarness())
    const report = await h.writeProvider(
      'code.ts',
      'export default { issuer: "https://x.example", clientId: "c", clientSecret: "s", hook: () => 1 }\n',
    )
    expect(report.issues).toEqual([
      expect.objectContaining({ key: '(file)', reason: expect.stringMatching(/must export plain data/) }),
    ])
  })

  it('a plugin that never finishes loading stops the start with an error naming it', async () => {
    const h = track(await startHarness())
    const plugin = join(h.dir, 'hanging-plugin.ts')
    await writeFile(plugin, 'await new Promise(() => {})\nexport default {}\n')
    const logs = new LogCapture()
    const started = startApp({
      configFile: false,
      env: {},
      overrides: {
        port: await freePort(),
        host: '127.0.0.1',
        database: ':memory:',
        providersDir: h.providersDir,
        plugins: [plugin],
      },
      logDestination: logs,
      watch: false,
    })
    await expect(started).rejects.toThrow(
      /plugin .*hanging-plugin\.ts: cannot be loaded: did not finish loading within 5 s/,
    )
    // The server that was running goes on.
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200)
  })
})
