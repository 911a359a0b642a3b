import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { providerFields } from '../../../core/config/provider-schema.ts'
import { packageRoot } from '../../../core/paths.ts'
import { SCHEMA_FILES, jsonSchemas } from '../../../core/schemas.ts'

describe('published JSON Schemas', () => {
  it('match the field definitions (run `npm run schema` after changing a key)', () => {
    const current = jsonSchemas()
    for (const key of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
      expect(readFileSync(join(packageRoot(), SCHEMA_FILES[key]), 'utf8'), SCHEMA_FILES[key]).toBe(current[key])
    }
  })

  it('describe every provider key and refuse unknown ones', () => {
    const schema = JSON.parse(jsonSchemas().provider) as {
      properties: Record<string, unknown>
      required: string[]
      additionalProperties: boolean
    }
    expect(
      Object.keys(schema.properties)
        .filter((k) => k !== '$schema')
        .sort(),
    ).toEqual(Object.keys(providerFields).sort())
    expect(schema.required.sort()).toEqual(['clientId', 'issuer'])
    expect(schema.additionalProperties).toBe(false)
  })
})
