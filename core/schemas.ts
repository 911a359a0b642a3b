import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { builtinConfigSections, builtinExtensions } from './app.ts'
import { jsonProperties, toJsonSchema, type Fields } from './config/fields.ts'
import { mainConfigFields } from './config/main-schema.ts'
import { envelopeFields } from './config/provider-schema.ts'
import type { AuthMethod } from './contracts/auth-method.ts'

/** Where the JSON Schemas are published, relative to the package root. */
export const SCHEMA_FILES = {
  provider: 'schema/provider.schema.json',
  config: 'schema/config.schema.json',
  keys: 'docs/config-keys.md',
} as const

/** The JSON Schemas, derived from the same field definitions as validation and types. */
export async function jsonSchemas(): Promise<Record<keyof typeof SCHEMA_FILES, string>> {
  const { plugins: _plugins, ...scalarConfig } = mainConfigFields
  const { authMethods, mappers, flowSteps } = await builtinExtensions()
  const provider = providerSchema(authMethods, {
    mappers: entrySchema(mappers, true),
    flows: entrySchema(flowSteps, false),
  })
  return {
    keys: keyReference(
      { ...scalarConfig, ...builtinConfigSections() },
      envelopeFields as unknown as Fields,
      authMethods,
    ),
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

/** One table row per key, nested keys dotted: key, variable, default, meaning. */
function keyRows(fields: Fields, prefix = ''): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  const rows: string[] = []
  for (const [key, f] of Object.entries(fields)) {
    const name = `${prefix}${key}`
    if (f.kind === 'object' && f.fields) {
      rows.push(...keyRows(f.fields, `${name}.`))
      continue
    }
    const fallback =
      f.defaultText ??
      (f.default === undefined ? (f.required ? 'required' : '(none)') : `\`${JSON.stringify(f.default)}\``)
    const kind = f.kind === 'enum' ? `one of ${f.values!.map((v) => `\`${v}\``).join(', ')}` : f.kind
    rows.push(`| \`${name}\` | ${f.env ? `\`${f.env}\`` : ''} | ${cell(kind)} | ${cell(fallback)} | ${cell(f.doc)} |`)
  }
  return rows
}

/** Every key of the main configuration and of provider files, as tables: generated, so it cannot drift. */
function keyReference(config: Fields, envelope: Fields, methods: readonly AuthMethod<unknown>[]): string {
  const head = '| key | variable | type | default | meaning |\n|---|---|---|---|---|'
  const strategies = methods
    .map(
      (m) => `## Provider keys of the \`${m.strategy}\` strategy\n\n${head}\n${keyRows(m.optionsSchema).join('\n')}\n`,
    )
    .join('\n')
  return `<!-- Generated by \`npm run schema\` (otpki schema --write) from the field definitions; do not edit. -->
# Every configuration key

Generated from the same definitions the server validates with. The guides explain them:
[reference](reference.md), [operator guide](operator-guide.md).

## Main configuration (\`otpki.config.ts\`)

${head}
${keyRows(config).join('\n')}

## Provider keys shared by every strategy (the envelope)

${head}
${keyRows(envelope).join('\n')}

${strategies}`
}

export async function writeJsonSchemas(root: string): Promise<string[]> {
  const schemas = await jsonSchemas()
  await mkdir(join(root, 'schema'), { recursive: true })
  await mkdir(join(root, 'docs'), { recursive: true })
  const written: string[] = []
  for (const key of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    await writeFile(join(root, SCHEMA_FILES[key]), schemas[key])
    written.push(SCHEMA_FILES[key])
  }
  return written
}
