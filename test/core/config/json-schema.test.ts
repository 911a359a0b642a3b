import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { providerKeys } from '../../support/provider-defaults.ts'
import { packageRoot } from '../../../core/paths.ts'
import { SCHEMA_FILES, jsonSchemas } from '../../../core/schemas.ts'

describe('published JSON Schemas', () => {
  it('match the field definitions (run `npm run schema` after changing a key)', async () => {
    const current = await jsonSchemas()
    for (const key of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
      expect(readFileSync(join(packageRoot(), SCHEMA_FILES[key]), 'utf8'), SCHEMA_FILES[key]).toBe(current[key])
    }
  })

  it('describe every provider key and refuse unknown ones: the envelope plus one branch per strategy', async () => {
    const schema = JSON.parse((await jsonSchemas()).provider) as {
      oneOf: {
        title: string
        properties: Record<string, { const?: string }>
        required: string[]
        additionalProperties: boolean
      }[]
    }
    expect(schema.oneOf.map((b) => b.title)).toEqual(['strategy oidc'])
    const oidc = schema.oneOf[0]!
    expect(
      Object.keys(oidc.properties)
        .filter((k) => k !== '$schema')
        .sort(),
    ).toEqual([...providerKeys].sort())
    expect(oidc.properties.strategy?.const).toBe('oidc')
    // The default strategy: a file need not name it.
    expect(oidc.required.sort()).toEqual(['clientId', 'issuer'])
    expect(oidc.additionalProperties).toBe(false)
  })
})

describe('the published provider schema is as strict as the server', () => {
  it('checks mapper and flow entries: a known type, its options, nothing else', async () => {
    const schema = (JSON.parse((await jsonSchemas()).provider) as { oneOf: unknown[] }).oneOf[0] as {
      properties: Record<
        string,
        {
          items?: {
            oneOf: { properties: { type: { const: string } }; required: string[]; additionalProperties: boolean }[]
          }
        }
      >
    }
    const mappers = schema.properties.mappers!.items!.oneOf
    expect(mappers.map((m) => m.properties.type.const)).toEqual(
      expect.arrayContaining(['attribute', 'claim-to-role', 'hardcoded-role', 'username-template']),
    )
    const claimToRole = mappers.find((m) => m.properties.type.const === 'claim-to-role')!
    expect(claimToRole.required).toEqual(['type', 'claim', 'role'])
    expect(claimToRole.additionalProperties).toBe(false)
    expect(Object.keys(claimToRole.properties)).toEqual(['type', 'syncMode', 'claim', 'value', 'pattern', 'role'])
    const flows = schema.properties.firstLoginFlow!.items!.oneOf.map((f) => f.properties.type.const)
    expect(flows).toEqual(['require-claim', 'require-verified-email'])
  })
})
