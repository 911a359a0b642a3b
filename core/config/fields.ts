import convict from 'convict'
import { durationToSeconds, type Duration } from './duration.ts'
import { isSecretRef, type SecretRef } from './secrets.ts'

/**
 * One definition per configuration key. The convict schema (validation), the
 * JSON Schema (editors) and the TypeScript input types are all derived from
 * these definitions, so the three cannot drift apart.
 */
export interface Field<T, R extends boolean = boolean, D extends boolean = boolean> {
  readonly kind: FieldKind
  readonly doc: string
  readonly required: R
  readonly default?: T
  /** The `OTPKI_*` variable that overrides this key (scalar main-config keys). */
  readonly env?: string
  readonly values?: readonly string[]
  readonly pattern?: string
  readonly min?: number
  readonly max?: number
  /** Shown in the docs when the default is computed (for example from `publicUrl`). */
  readonly defaultText?: string
  /** Nested keys of an `object` field. */
  readonly fields?: Fields
  /** Type markers only. */
  readonly __type?: T
  readonly __hasDefault?: D
}

export type FieldKind =
  | 'string'
  | 'url'
  | 'int'
  | 'boolean'
  | 'duration'
  | 'secret'
  | 'enum'
  | 'string-array'
  | 'any-array'
  | 'object'

type Options<T> = { doc: string; env?: string; default?: T; defaultText?: string }
/** Whether the options give a default (the output then always has a value). */
type HasDefault<O> = O extends { default: unknown } ? true : false

export const field = {
  string: <const O extends Options<string> & { required?: boolean; pattern?: string; max?: number }>(o: O) =>
    make<string, O['required'] extends true ? true : false, HasDefault<O>>('string', o),
  url: <const O extends Options<string> & { required?: boolean }>(o: O) =>
    make<string, O['required'] extends true ? true : false, HasDefault<O>>('url', o),
  int: <const O extends Options<number> & { min?: number; max?: number }>(o: O) =>
    make<number, false, HasDefault<O>>('int', o),
  boolean: <const O extends Options<boolean>>(o: O) => make<boolean, false, HasDefault<O>>('boolean', o),
  duration: <const O extends Options<Duration>>(o: O) => make<Duration, false, HasDefault<O>>('duration', o),
  secret: <const O extends Options<SecretRef> & { required?: boolean }>(o: O) =>
    make<SecretRef, O['required'] extends true ? true : false, false>('secret', o),
  enum: <const V extends string, const O extends Options<NoInfer<V>> = Options<NoInfer<V>>>(
    values: readonly V[],
    o: O,
  ) => make<V, false, HasDefault<O>>('enum', { ...o, values }),
  stringArray: <const O extends Options<string[]>>(o: O) => make<string[], false, HasDefault<O>>('string-array', o),
  anyArray: <T, const O extends Options<T[]> = Options<T[]>>(o: O) => make<T[], false, HasDefault<O>>('any-array', o),
  /** A nested group of keys; unknown nested keys are errors too. */
  object: <F extends Fields>(fields: F, o: { doc: string; defaultText?: string }) => ({
    ...make<InputOf<F>, false, false>('object', o),
    fields,
    /** Type marker only: the nested output. */
    __output: undefined as unknown as OutputOf<F>,
  }),
}

function make<T, R extends boolean, D extends boolean>(
  kind: FieldKind,
  o: Options<T> & {
    required?: boolean
    values?: readonly string[]
    pattern?: string
    min?: number
    max?: number
    fields?: Fields
  },
): Field<T, R, D> {
  return { ...o, kind, required: (o.required ?? false) as R }
}

export type Fields = Record<string, Field<any>>
type ValueOf<F> = F extends Field<infer T, any> ? T : never
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends Field<any, true> ? K : never }[keyof F]
type OptionalKeys<F extends Fields> = Exclude<keyof F, RequiredKeys<F>>

/**
 * What validation gives the code: required keys and keys with a default always
 * hold a value; nested objects hold their own output; the rest may be absent.
 * Durations stay as written (`durationToSeconds` reads them).
 */
export type OutputOf<F extends Fields> = {
  readonly [K in keyof F]: F[K] extends { __output: infer O }
    ? O
    : F[K] extends Field<infer T, true, any>
      ? T
      : F[K] extends Field<infer T, any, true>
        ? T
        : ValueOf<F[K]> | undefined
}

/** What a user writes: required keys required, the rest optional. */
export type InputOf<F extends Fields> = { -readonly [K in RequiredKeys<F>]: ValueOf<F[K]> } & {
  -readonly [K in OptionalKeys<F>]?: ValueOf<F[K]>
}

/** One validation problem: which key, and why. */
export interface FieldIssue {
  key: string
  reason: string
}

function validator(f: Field<unknown>): (value: unknown) => void {
  return (value) => {
    if (value === null || value === undefined) {
      if (f.required) throw new Error('is required')
      return
    }
    switch (f.kind) {
      case 'string':
        if (typeof value !== 'string' || value.trim() === '') throw new Error('must be a non-empty string')
        if (f.max !== undefined && value.length > f.max) throw new Error(`must be at most ${f.max} characters`)
        if (f.pattern && !new RegExp(f.pattern).test(value)) throw new Error(`must match ${f.pattern}`)
        return
      case 'url': {
        if (typeof value !== 'string') throw new Error('must be a URL string')
        let url: URL
        try {
          url = new URL(value)
        } catch {
          throw new Error('must be an absolute URL')
        }
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http(s) URL')
        return
      }
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error('must be a whole number')
        if (f.min !== undefined && value < f.min) throw new Error(`must be at least ${f.min}`)
        if (f.max !== undefined && value > f.max) throw new Error(`must be at most ${f.max}`)
        return
      case 'boolean':
        if (typeof value !== 'boolean') throw new Error('must be true or false')
        return
      case 'duration':
        durationToSeconds(value as Duration)
        return
      case 'secret':
        if (!isSecretRef(value)) throw new Error('must be a non-empty string, { "env": "NAME" } or { "file": "/path" }')
        return
      case 'enum':
        if (typeof value !== 'string' || !f.values!.includes(value))
          throw new Error(`must be one of ${f.values!.join(', ')}`)
        return
      case 'string-array':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
          throw new Error('must be an array of non-empty strings')
        }
        return
      case 'any-array':
        if (!Array.isArray(value)) throw new Error('must be an array')
        return
      case 'object':
        return
    }
  }
}

const formatNames = new WeakMap<Field<unknown>, string>()
let formatCount = 0

/** Registers (once per field definition) a convict format that validates and coerces it. */
function formatName(f: Field<unknown>): string {
  let name = formatNames.get(f)
  if (!name) {
    name = `otpki-${f.kind}-${++formatCount}`
    const coerce = coercer(f)
    convict.addFormat({ name, validate: validator(f), ...(coerce ? { coerce } : {}) })
    formatNames.set(f, name)
  }
  return name
}

function coercer(f: Field<unknown>): ((raw: string) => unknown) | undefined {
  if (f.kind === 'int') return (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw)
  if (f.kind === 'boolean') return (raw) => (raw === 'true' ? true : raw === 'false' ? false : raw)
  if (f.kind === 'duration') return (raw) => (/^\d+$/.test(raw.trim()) ? Number(raw) : raw)
  return undefined
}

/**
 * Validates `input` strictly against `fields` with convict: unknown keys and
 * wrong values are collected as issues. `OTPKI_*` variables named by the
 * fields override the input. Returns the values with defaults applied.
 */
export function validateFields<F extends Fields>(
  fields: F,
  input: unknown,
  env: NodeJS.ProcessEnv = {},
): { value: Record<string, unknown>; issues: FieldIssue[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { value: {}, issues: [{ key: '(root)', reason: 'must be an object' }] }
  }
  const issues: FieldIssue[] = forbiddenKeys(input)
  if (issues.length > 0) return { value: {}, issues }
  for (const [key, f] of Object.entries(fields)) {
    const given = (input as Record<string, unknown>)[key]
    if (
      f.kind === 'object' &&
      given !== undefined &&
      given !== null &&
      (typeof given !== 'object' || Array.isArray(given))
    ) {
      issues.push({ key, reason: 'must be an object' })
    }
  }
  if (issues.length > 0) return { value: {}, issues }
  const schema = convictSchema(fields)
  // `null` means "not given": the default applies, or "is required".
  input = withoutNulls(input as Record<string, unknown>)
  // Keys whose value is an object (secrets, arrays) must not be deep-merged by
  // convict with a default; load them as whole values.
  let config: convict.Config<Record<string, unknown>>
  try {
    config = convict(schema as convict.Schema<Record<string, unknown>>, { env: pickEnv(fields, env), args: [] })
    config.load(input)
  } catch (cause) {
    return { value: {}, issues: [{ key: '(root)', reason: cause instanceof Error ? cause.message : String(cause) }] }
  }
  // Environment variables win over the file (convict's load() would otherwise override them).
  for (const [key, f] of flatFields(fields)) {
    const raw = f.env ? env[f.env] : undefined
    if (raw !== undefined && raw !== '') {
      const coerce = coercer(f)
      config.set(key, coerce ? coerce(raw) : raw)
    }
  }
  try {
    config.validate({ allowed: 'strict', output: () => {} })
  } catch (cause) {
    issues.push(...parseConvictErrors(cause instanceof Error ? cause.message : String(cause)))
  }
  return { value: readValues(fields, (key) => config.get(key)), issues }
}

/**
 * Options of an extension (a plugin, mapper or flow step) as its code gets
 * them: validated, defaults applied, keys without a value left out.
 */
export function resolveOptions<F extends Fields>(
  fields: F,
  input: unknown,
  env: NodeJS.ProcessEnv = {},
): { value: OutputOf<F>; issues: FieldIssue[] } {
  const { value, issues } = validateFields(fields, input, env)
  return { value: withObjects(fields, withoutNulls(value)) as OutputOf<F>, issues }
}

/** Nested objects none of whose keys is set still read as objects, with their defaults. */
function withObjects(fields: Fields, value: Record<string, unknown>): Record<string, unknown> {
  for (const [key, f] of Object.entries(fields)) {
    if (f.kind !== 'object') continue
    const nested = (value[key] ?? {}) as Record<string, unknown>
    const defaults = Object.fromEntries(
      Object.entries(f.fields!)
        .filter(([k, inner]) => nested[k] === undefined && inner.default !== undefined)
        .map(([k, inner]) => [k, inner.default]),
    )
    value[key] = withObjects(f.fields!, { ...defaults, ...nested })
  }
  return value
}

/**
 * One line for a configuration issue, named by where the value came from: the
 * `OTPKI_*` variable when one set the key (`OTPKI_PORT: must be ... (it sets
 * port)`), else the file (`otpki.config.ts: port: must be ...`). `prefix` is
 * the section the fields belong to (`clientCertificate.`).
 */
export function describeIssue(
  fields: Fields,
  issue: FieldIssue,
  label: string,
  env: NodeJS.ProcessEnv,
  prefix = '',
): string {
  let level: Fields | undefined = fields
  let field: Field<unknown> | undefined
  for (const part of issue.key.split('.')) {
    field = level?.[part]
    if (!field) break
    level = field.fields
  }
  const variable = field?.env
  if (variable && env[variable] !== undefined && env[variable] !== '')
    return `${variable}: ${issue.reason} (it sets ${prefix}${issue.key})`
  return `${label}: ${prefix}${issue.key}: ${issue.reason}`
}

/** Keys that would reach an object's prototype: never settings, whatever the schema. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * `__proto__`, `constructor` and `prototype` anywhere in a configuration
 * (JSON makes them own keys; a `__proto__:` in a `.ts` object literal sets the
 * prototype instead) are unknown keys.
 */
export function forbiddenKeys(value: unknown, path = ''): FieldIssue[] {
  if (value === null || typeof value !== 'object') return []
  const at = (key: string) => (path ? `${path}.${key}` : key)
  if (Array.isArray(value)) return value.flatMap((item, i) => forbiddenKeys(item, `${path}[${i}]`))
  // A plugin given as an object (in `plugins`) is code, not configuration: its options are checked, not its definition.
  if (typeof (value as { register?: unknown }).register === 'function') return []
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null)
    return [{ key: at('__proto__'), reason: 'is not a known key (a configuration holds plain objects only)' }]
  return Object.keys(value).flatMap((key) =>
    FORBIDDEN_KEYS.has(key)
      ? [{ key: at(key), reason: 'is not a known key' }]
      : forbiddenKeys((value as Record<string, unknown>)[key], at(key)),
  )
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (inner === null || inner === undefined) continue
    out[key] =
      inner !== null && typeof inner === 'object' && !Array.isArray(inner)
        ? withoutNulls(inner as Record<string, unknown>)
        : inner
  }
  return out
}

function convictSchema(fields: Fields): Record<string, unknown> {
  const schema: Record<string, unknown> = {}
  for (const [key, f] of Object.entries(fields)) {
    if (f.kind === 'object') {
      schema[key] = { doc: f.doc, ...convictSchema(f.fields!) }
      continue
    }
    schema[key] = {
      doc: f.doc,
      default: f.default ?? null,
      nullable: !f.required,
      format: formatName(f),
      sensitive: f.kind === 'secret',
      ...(f.env ? { env: f.env } : {}),
    }
  }
  return schema
}

/** Values by key; an object field none of whose keys is set reads as null. */
function readValues(fields: Fields, get: (key: string) => unknown, prefix = ''): Record<string, unknown> {
  const value: Record<string, unknown> = {}
  for (const [key, f] of Object.entries(fields)) {
    if (f.kind === 'object') {
      const nested = readValues(f.fields!, get, `${prefix}${key}.`)
      value[key] = Object.values(nested).every((v) => v === null || v === undefined) ? null : nested
    } else value[key] = get(`${prefix}${key}`)
  }
  return value
}

function pickEnv(fields: Fields, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [, f] of flatFields(fields)) if (f.env && env[f.env] !== undefined) out[f.env] = env[f.env]!
  return out
}

/** Every scalar field with its dotted key (`clientCertificate.enabled`). */
export function flatFields(fields: Fields, prefix = ''): [string, Field<unknown>][] {
  return Object.entries(fields).flatMap(([key, f]) =>
    f.kind === 'object'
      ? flatFields(f.fields!, `${prefix}${key}.`)
      : [[`${prefix}${key}`, f] as [string, Field<unknown>]],
  )
}

/** Turns convict's multi-line message into (key, reason) pairs, never echoing values. */
function parseConvictErrors(message: string): FieldIssue[] {
  const issues: FieldIssue[] = []
  for (const line of message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const undeclared = /^configuration param '([^']+)' not declared in the schema/.exec(line)
    if (undeclared) {
      issues.push({ key: undeclared[1]!, reason: 'is not a known key' })
      continue
    }
    const m = /^([^:]+): (.*?)(?:: value was .*)?$/s.exec(line)
    if (m) issues.push({ key: m[1]!, reason: m[2]!.replace(/^(Error: )/, '') })
    else issues.push({ key: '(root)', reason: line })
  }
  return issues
}

/** JSON Schema (draft 2020-12) for a set of fields. */
export function toJsonSchema(fields: Fields, meta: { $id: string; title: string; description: string }): object {
  const properties: Record<string, object> = { $schema: { type: 'string' } }
  const required: string[] = []
  for (const [key, f] of Object.entries(fields)) {
    properties[key] = { description: f.doc, ...jsonType(f), ...(f.default !== undefined ? { default: f.default } : {}) }
    if (f.required) required.push(key)
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...meta,
    type: 'object',
    additionalProperties: false,
    required,
    properties,
  }
}

function jsonType(f: Field<unknown>): object {
  switch (f.kind) {
    case 'string':
      return {
        type: 'string',
        minLength: 1,
        ...(f.pattern ? { pattern: f.pattern } : {}),
        ...(f.max ? { maxLength: f.max } : {}),
      }
    case 'url':
      return { type: 'string', format: 'uri', pattern: '^https?://' }
    case 'int':
      return {
        type: 'integer',
        ...(f.min !== undefined ? { minimum: f.min } : {}),
        ...(f.max !== undefined ? { maximum: f.max } : {}),
      }
    case 'boolean':
      return { type: 'boolean' }
    case 'duration':
      return {
        oneOf: [
          { type: 'integer', minimum: 1 },
          { type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|m|h|d|w|y|[a-z]+)?$' },
        ],
      }
    case 'secret':
      return {
        oneOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['env'],
            properties: { env: { type: 'string', minLength: 1 } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['file'],
            properties: { file: { type: 'string', minLength: 1 } },
          },
        ],
      }
    case 'enum':
      return { type: 'string', enum: [...f.values!] }
    case 'string-array':
      return { type: 'array', items: { type: 'string', minLength: 1 } }
    case 'any-array':
      return { type: 'array' }
    case 'object': {
      const { properties, required } = jsonProperties(f.fields!)
      return { type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) }
    }
  }
}

/** The JSON Schema properties of a set of fields, and which are required (for schemas nested in another). */
export function jsonProperties(fields: Fields): { properties: Record<string, unknown>; required: string[] } {
  const nested = toJsonSchema(fields, { $id: '', title: '', description: '' }) as {
    properties: Record<string, unknown>
    required: string[]
  }
  const { $schema: _schema, ...properties } = nested.properties
  return { properties, required: nested.required }
}
