import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { Eta } from 'eta'
import { packageRoot } from '../paths.ts'

/** The built-in templates shipped with OTPKI. */
export const BUILTIN_TEMPLATES = join(packageRoot(), 'templates')

/**
 * Renders pages with Eta, escaping every `<%= %>` output. A template in the
 * operator's directory replaces the built-in one of the same name.
 */
export class Renderer {
  private readonly eta: Eta

  /** `pluginDirs`: templates plugins ship, found after OTPKI's own (an operator's still win). */
  constructor(
    private readonly overrideDir: string | undefined,
    pluginDirs: readonly string[] = [],
  ) {
    const dirs = [...(overrideDir ? [overrideDir] : []), BUILTIN_TEMPLATES, ...pluginDirs]
    this.eta = new Eta({
      views: BUILTIN_TEMPLATES,
      autoEscape: true,
      cache: true,
      autoTrim: false,
    })
    this.eta.resolvePath = (template) => {
      const file = template.endsWith('.eta') ? template : `${template}.eta`
      if (isAbsolute(file)) return file
      for (const dir of dirs) {
        const candidate = join(dir, file)
        if (existsSync(candidate)) return candidate
      }
      throw new Error(`template not found: ${file}`)
    }
  }

  /** An operator's replacement for a static file (for example `static/style.css`), if any. */
  asset(path: string): string | undefined {
    if (!this.overrideDir) return undefined
    const file = join(this.overrideDir, path)
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined
  }

  render(template: string, data: Record<string, unknown>): string {
    return this.eta.render(template, data)
  }
}
