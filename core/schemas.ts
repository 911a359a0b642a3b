import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { builtinConfigSections, builtinExtensions } from './app.ts'
import { jsonProperties, toJsonSchema, type Fields } from './config/fields.ts'
import { mainConfigFields } from './config/main-schema.ts'
import { envelopeFields } from './config/provider-schema.ts'
import type { AuthMethod } from './contracts/auth-method.ts'

/** Where the JSON Schemas are published, relative to the package root. */
export const SCHEMA_FILES = { provider: 'schema/provider.schema.json', config: 'schema/config.schema.json' } as const

/** The JSON Schemas, derived from the same field definitions as validation and types. */
export async function jsonSchemas(): Promise<Record<keyof typeof SCHEMA_FILES, string>> {
  const { plugins: _plugins, ...scalarConfig } = mainConfigFields
  const { authMethods, mappers, flowSteps } = await builtinExtensions()
  const provider = providerSchema(authMethods, {
    mappers: entrySchema(mappers, true),
    flows: entrySchema(flowSteps, false),
  })
  return {
    provider: `${JSON.stringify(provider, null, 2)}\n`,
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

/**
 * A provider file: the envelope plus one branch per strategy, each as strict
 * as the server (its own keys and no others; mapper and flow entries of the
 * known types, with their options).
 */
export function providerSchema(
  methods: readonly AuthMethod<unknown>[],
  entries: { mappers: object; flows: object },
): object {
  const envelope = jsonProperties(envelopeFields)
  const { strategy: _strategy, ...shared } = envelope.properties as Record<string, Record<string, unknown>>
  shared.mappers = { ...shared.mappers, items: entries.mappers }
  shared.firstLoginFlow = { ...shared.firstLoginFlow, items: entries.flows }
  shared.postLoginFlow = { ...shared.postLoginFlow, items: entries.flows }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://otpki.dev/schema/provider.schema.json',
    title: 'OTPKI identity provider',
    description: 'One identity provider: config/providers/NAME.json (or NAME.ts with defineProvider).',
    oneOf: methods.map((method) => {
      const options = jsonProperties(method.optionsSchema)
      return {
        title: `strategy ${method.strategy}`,
        type: 'object',
        additionalProperties: false,
        required: [...(method.isDefault ? [] : ['strategy']), ...envelope.required, ...options.required],
        properties: {
          $schema: { type: 'string' },
          strategy: { description: envelopeFields.strategy.doc, const: method.strategy },
          ...shared,
          ...options.properties,
        },
      }
    }),
  }
}

/** One mapper or flow entry: `{ type, ...its options }` (mappers may set their own syncMode). */
function entrySchema(
  extensions: readonly { name: string; optionsSchema?: Fields | undefined }[],
  withSyncMode: boolean,
): object {
  return {
    oneOf: extensions.map((extension) => {
      const { properties, required } = jsonProperties(extension.optionsSchema ?? {})
      return {
        type: 'object',
        additionalProperties: false,
        required: ['type', ...required],
        properties: {
          type: { const: extension.name },
          ...(withSyncMode ? { syncMode: { type: 'string', enum: ['force', 'import', 'legacy'] } } : {}),
          ...properties,
        },
      }
    }),
  }
}

export async function writeJsonSchemas(root: string): Promise<string[]> {
  const schemas = await jsonSchemas()
  await mkdir(join(root, 'schema'), { recursive: true })
  const written: string[] = []
  for (const key of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    await writeFile(join(root, SCHEMA_FILES[key]), schemas[key])
    written.push(SCHEMA_FILES[key])
  }
  return written
}
