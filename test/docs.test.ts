import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtinConfigSections } from '../core/app.ts'
import { mainConfigFields } from '../core/config/main-schema.ts'
import { providerKeys } from './support/provider-defaults.ts'
import { packageRoot } from '../core/paths.ts'

const root = packageRoot()
const front = readFileSync(join(root, 'README.md'), 'utf8')
/** The documentation: the README and the guides under docs/. */
const readme = [
  front,
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(join(root, 'docs', f), 'utf8')),
].join('\n')

describe('README', () => {
  it('starts with the two commands', () => {
    expect(front).toMatch(/^# OTPKI Sign-in\n\n```sh\nnpm install && npm start\nnpm test\n```/)
  })

  it('documents every main config key with its variable', () => {
    for (const [key, field] of Object.entries({ ...mainConfigFields, ...builtinConfigSections() })) {
      if (field.kind === 'object') {
        expect(readme, key).toContain(`| \`${key}\` |`)
        for (const [nested, inner] of Object.entries(field.fields!)) {
          expect(readme, `${key}.${nested}`).toMatch(
            new RegExp(`\\| [^|]*\`${nested}\`[^|]*\\| ${inner.env ? `[^|]*\`${inner.env}\`` : '\\(none\\)'}`),
          )
        }
        continue
      }
      expect(readme, key).toContain(`| \`${key}\` | ${field.env ? `\`${field.env}\`` : '(none)'} |`)
    }
  })

  it('documents every provider key', () => {
    for (const key of providerKeys) expect(readme, key).toContain(`| \`${key}\` |`)
  })
})
