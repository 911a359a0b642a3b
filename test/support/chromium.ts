import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { packageRoot } from '../../core/paths.ts'

/** Debian's Chromium (apt-get install chromium); never a downloaded browser. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

/** Where browser tests put their screenshots. */
export const SCREENSHOTS = join(packageRoot(), 'test-output', 'screenshots')

export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM!,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** One Chromium for the tests of a `describe` block: launched before them, closed after them. */
export function chromiumPerSuite(): Pick<Browser, 'newContext'> {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(() => browser?.close())
  return { newContext: (options) => browser!.newContext(options) }
}
