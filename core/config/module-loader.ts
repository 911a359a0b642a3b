import { readFile } from 'node:fs/promises'
import { createJiti } from 'jiti'

const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true })

/**
 * Loads a configuration module: `.json` is parsed, `.ts`/`.js`/`.mjs` is
 * imported through jiti with caching off, so an edited file is read anew.
 * Returns the default export (or the module namespace when it has none).
 */
export async function loadConfigModule(path: string): Promise<unknown> {
  if (path.endsWith('.json')) {
    const text = await readFile(path, 'utf8')
    try {
      return JSON.parse(text)
    } catch (cause) {
      throw new Error(`invalid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    }
  }
  return jiti.import(path, { default: true })
}

/** Imports a plugin module (path or package name) the same way. */
export async function importModule(specifier: string): Promise<unknown> {
  return jiti.import(specifier, { default: true })
}
