import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { builtinConfigSections } from './app.ts'
import { toJsonSchema } from './config/fields.ts'
import { mainConfigFields } from './config/main-schema.ts'
import { providerFields } from './config/provider-schema.ts'

/** Where the JSON Schemas are published, relative to the package root. */
export const SCHEMA_FILES = { provider: 'schema/provider.schema.json', config: 'schema/config.schema.json' } as const

/** The JSON Schemas, derived from the same field definitions as validation and types. */
export function jsonSchemas(): Record<keyof typeof SCHEMA_FILES, string> {
  const { plugins: _plugins, ...scalarConfig } = mainConfigFields
  return {
    provider: `${JSON.stringify(
      toJsonSchema(providerFields, {
        $id: 'https://otpki.dev/schema/provider.schema.json',
        title: 'OTPKI identity provider',
        description: 'One identity provider: config/providers/NAME.json (or NAME.ts with defineProvider).',
      }),
      null,
      2,
    )}\n`,
    config: `${JSON.stringify(
      toJsonSchema(
        { ...scalarConfig, ...builtinConfigSections() },
        {
          $id: 'https://otpki.dev/schema/config.schema.json',
          title: 'OTPKI main configuration',
          description: 'The scalar keys of otpki.config.ts (plugins are code and not described here).',
        },
      ),
      null,
      2,
    )}\n`,
  }
}

export async function writeJsonSchemas(root: string): Promise<string[]> {
  const schemas = jsonSchemas()
  await mkdir(join(root, 'schema'), { recursive: true })
  const written: string[] = []
  for (const key of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    await writeFile(join(root, SCHEMA_FILES[key]), schemas[key])
    written.push(SCHEMA_FILES[key])
  }
  return written
}
