import { randomBytes } from 'node:crypto'
import { access, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, extname, join, resolve } from 'node:path'
import type { H3Event } from 'h3'
import type { Field, FieldIssue, Fields } from '../../config/fields.ts'
import { loadDataModule } from '../../config/module-loader.ts'
import { PROVIDER_EXTENSIONS, validateProvider } from '../../config/provider-loader.ts'
import type { ProviderEntry } from '../../config/provider-registry.ts'
import { envelopeFields } from '../../config/provider-schema.ts'
import { deploymentSecrets, isSecretRef, resolveSecret } from '../../config/secrets.ts'
import { OtpkiError } from '../../errors.ts'
import { guarded, page, type Handler, type HttpContext } from '../http-context.ts'
import { jsonResponse, redirectResponse, textResponse } from '../respond.ts'
import { change, visit, wantsPage } from './console.ts'
import { SCRIPT_PAGE_CSP } from './admin.ts'

/**
 * The console's Create, Edit and Delete for identity providers. Providers are
 * committed files, so each form validates with the schema the loader uses and
 * produces the file (shown and downloadable); it writes into the providers
 * directory only when `providerFilesWritable` is on.
 */

/** The keys the form has a control for, in the order it shows them; every other key stays as the file has it. */
const FORM_KEYS: readonly { key: string; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'displayName', label: 'Display name' },
  { key: 'issuer', label: 'Issuer' },
  { key: 'discovery', label: 'Discovery' },
  { key: 'clientId', label: 'Client ID' },
  { key: 'clientSecret', label: 'Client secret' },
  { key: 'clientAuthentication', label: 'Client authentication' },
  { key: 'scopes', label: 'Scopes' },
  { key: 'redirectUrl', label: 'Redirect URL' },
  { key: 'enabled', label: 'Enabled' },
  { key: 'hideOnLoginPage', label: 'Hidden on the sign-in page' },
  { key: 'createUnknownUsers', label: 'Create unknown users' },
  { key: 'createUnknownRoles', label: 'Create unknown roles' },
  { key: 'trustEmail', label: 'Trust the email claim' },
]

type Control = 'text' | 'url' | 'checkbox' | 'select' | 'secret' | 'list'

interface FormField {
  key: string
  label: string
  doc: string
  control: Control
  required: boolean
  default: unknown
  values: readonly string[]
}

/** A provider file as the form edits it: its raw keys, its path, and how it is written. */
interface Target {
  mode: 'create' | 'edit'
  /** The provider's name when editing (fixed: it is the file's). */
  name: string | undefined
  raw: Record<string, unknown>
  file: string | undefined
  strategy: string
}

/** What the secret control offers; `keep` only when the file has a secret. */
const SECRET_MODES = [
  { value: 'env', label: 'From an environment variable' },
  { value: 'file', label: 'From a file' },
  { value: 'value', label: 'The value itself (it is then in the file you commit)' },
  { value: 'none', label: 'None' },
] as const

function controlOf(f: Field<unknown>, key: string): Control {
  if (key === 'discovery') return 'select'
  switch (f.kind) {
    case 'boolean':
      return 'checkbox'
    case 'enum':
      return 'select'
    case 'secret':
      return 'secret'
    case 'string-array':
      return 'list'
    case 'url':
      return 'url'
    default:
      return 'text'
  }
}

/** The form's fields for a strategy: the envelope's and the strategy's, where it has them. */
function fieldsFor(ctx: HttpContext, strategy: string): FormField[] {
  const method = ctx.providerFiles.defaults.strategies.methods.get(strategy)
  const options = (method?.optionsSchema ?? {}) as Fields
  const envelope = envelopeFields as unknown as Fields
  const out: FormField[] = []
  for (const { key, label } of FORM_KEYS) {
    const f = Object.hasOwn(envelope, key) ? envelope[key] : options[key]
    if (!f) continue
    out.push({
      key,
      label,
      doc: f.doc,
      control: controlOf(f, key),
      required: f.required === true,
      default: f.default,
      values: f.values ?? [],
    })
  }
  return out
}

function formKeys(fields: readonly FormField[]): Set<string> {
  return new Set(fields.map((f) => f.key))
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** The provider file the form describes, and what is wrong with the form itself. */
function inputFrom(
  form: URLSearchParams,
  fields: readonly FormField[],
  target: Target,
): { input: Record<string, unknown>; issues: FieldIssue[] } {
  const issues: FieldIssue[] = []
  const input: Record<string, unknown> = {}
  const raw = target.raw
  const keep = (key: string, value: unknown, fallback: unknown) => {
    // A value equal to the default is left out, unless the file states it.
    if (value === undefined) return
    if (!Object.hasOwn(raw, key) && fallback !== undefined && same(value, fallback)) return
    input[key] = value
  }
  for (const f of fields) {
    const given = (form.get(f.key) ?? '').trim()
    if (f.key === 'name') {
      const name = target.mode === 'edit' ? target.name : given
      if (target.mode === 'create' || Object.hasOwn(raw, 'name')) input.name = name || undefined
      if (!name) issues.push({ key: 'name', reason: 'is required' })
      continue
    }
    switch (f.control) {
      case 'checkbox':
        keep(f.key, form.get(f.key) === 'on', f.default)
        break
      case 'list': {
        const items = given.split(/[\s,]+/).filter(Boolean)
        keep(f.key, items.length > 0 ? items : undefined, f.default)
        break
      }
      case 'secret': {
        const mode = form.get(`${f.key}.mode`) ?? 'none'
        const value = (form.get(`${f.key}.value`) ?? '').trim()
        if (mode === 'keep') {
          if (raw[f.key] !== undefined) input[f.key] = raw[f.key]
        } else if (mode === 'env' || mode === 'file' || mode === 'value') {
          if (!value)
            issues.push({
              key: f.key,
              reason:
                mode === 'env'
                  ? 'name the environment variable'
                  : mode === 'file'
                    ? 'give the file path'
                    : 'give the value',
            })
          else input[f.key] = mode === 'value' ? value : { [mode]: value }
        }
        break
      }
      case 'select':
        if (f.key === 'discovery') keep(f.key, given === '' ? undefined : given === 'true', f.default)
        else keep(f.key, given === '' ? undefined : given, f.default)
        break
      default:
        if (given !== '') input[f.key] = given
    }
  }
  const other = (form.get('other') ?? '').trim()
  if (other !== '') {
    let parsed: unknown
    try {
      parsed = JSON.parse(other)
    } catch (cause) {
      issues.push({ key: 'other', reason: `is not JSON: ${(cause as Error).message}` })
    }
    if (parsed !== undefined) {
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        issues.push({ key: 'other', reason: 'must be a JSON object of provider keys' })
      else {
        const mine = formKeys(fields)
        for (const [k, v] of Object.entries(parsed)) {
          if (mine.has(k)) issues.push({ key: 'other', reason: `${k} has its own field above` })
          else input[k] = v
        }
      }
    }
  }
  if (typeof raw.strategy === 'string') input.strategy = raw.strategy
  return { input, issues }
}

/** The file's text in its own format: JSON, or TypeScript with `defineProvider`. */
function fileText(file: string, input: Record<string, unknown>): string {
  const json = JSON.stringify(input, null, 2)
  if (file.endsWith('.json')) return `${json}\n`
  return `import { defineProvider } from 'otpki'\n\nexport default defineProvider(${json})\n`
}

/** Writes a file whole: a reload reads the old file or the new one, never a part. */
async function writeWhole(file: string, text: string): Promise<void> {
  // A dot-file: the provider watcher ignores it until it is renamed into place.
  const temporary = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`)
  await writeFile(temporary, text, { mode: 0o640 })
  try {
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** A change to a provider file; a refusal of the file system (permissions, a read-only disk) is said plainly, and nothing changed. */
async function fileChange(verb: 'write' | 'remove', path: string, work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message
    throw new OtpkiError('CONFIG_INVALID', `cannot ${verb} ${path}: ${(cause as Error).message}`, {
      publicMessage: `OTPKI could not ${verb} ${path} (${reason}); nothing changed. Check the directory's permissions, or download the file and commit it.`,
      cause,
    })
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** Whether the console may change `file`: writes are on and it lies in the providers directory. */
function writableFile(ctx: HttpContext, file: string | undefined): boolean {
  return ctx.providerFiles.writable && file !== undefined && dirname(resolve(file)) === resolve(ctx.providerFiles.dir)
}

function entryOf(ctx: HttpContext, event: H3Event): ProviderEntry {
  const entry = ctx.registry.get(decodeURIComponent(event.context.params?.name ?? ''))
  if (!entry) throw new OtpkiError('NOT_FOUND', 'no such provider', { publicMessage: 'No such provider.' })
  return entry
}

async function targetOf(ctx: HttpContext, event: H3Event, mode: 'create' | 'edit'): Promise<Target> {
  if (mode === 'create') {
    const strategy = ctx.providerFiles.defaults.strategies.default ?? 'oidc'
    return { mode, name: undefined, raw: {}, file: undefined, strategy }
  }
  const entry = entryOf(ctx, event)
  let raw: unknown
  try {
    raw = await loadDataModule(entry.definition.source)
  } catch (cause) {
    throw new OtpkiError('CONFIG_INVALID', `cannot read ${entry.definition.source}: ${(cause as Error).message}`, {
      publicMessage: `The provider's file cannot be read now: ${(cause as Error).message}`,
    })
  }
  const { $schema: _schema, ...keys } = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>
  return {
    mode,
    name: entry.definition.name,
    raw: keys,
    file: entry.definition.source,
    strategy: entry.definition.strategy,
  }
}

/** Where a secret in the file comes from, never its value. */
function secretSource(secret: unknown): string {
  if (isSecretRef(secret) && typeof secret === 'object')
    return 'env' in secret ? `from the environment variable ${secret.env}` : `from the file ${secret.file}`
  return 'a value in the file'
}

/** The value a control shows for a key of the file. */
function shownValue(f: FormField, value: unknown): string {
  if (value === undefined) return ''
  if (f.control === 'list' && Array.isArray(value)) return value.join(' ')
  if (typeof value === 'object') return ''
  return String(value)
}

/** The controls' state: from the form just posted, or from the file (edit) or the defaults (create). */
function controls(
  fields: readonly FormField[],
  target: Target,
  form: URLSearchParams | undefined,
  issues: readonly FieldIssue[],
) {
  const errors = errorsByField(fields, issues)
  return fields.map((f) => {
    const fromFile = f.key === 'name' ? (target.name ?? '') : target.raw[f.key]
    const value = form ? (form.get(f.key) ?? '') : shownValue(f, fromFile === undefined ? f.default : fromFile)
    const checked = form ? form.get(f.key) === 'on' : ((fromFile ?? f.default) as boolean) === true
    const secret = target.raw[f.key]
    const hasSecret = f.control === 'secret' && secret !== undefined
    const secretMode = form?.get(`${f.key}.mode`) ?? (hasSecret ? 'keep' : f.control === 'secret' ? 'env' : undefined)
    const secretValue = form ? (form.get(`${f.key}.value`) ?? '') : ''
    const options =
      f.key === 'discovery'
        ? [
            { value: 'true', label: 'Automatic (.well-known/openid-configuration)' },
            { value: 'false', label: 'Off: endpoints given below in other keys' },
          ]
        : [{ value: '', label: `Default${f.default !== undefined ? ` (${String(f.default)})` : ''}` }].concat(
            f.values.map((v) => ({ value: v, label: v })),
          )
    return {
      ...f,
      id: `field-${f.key}`,
      value,
      checked,
      readonly: f.key === 'name' && target.mode === 'edit',
      options: options.map((o) => ({
        ...o,
        selected: o.value === (f.key === 'discovery' && value === '' ? 'true' : value),
      })),
      secretModes: (hasSecret ? [{ value: 'keep', label: `Keep as it is (${secretSource(secret)})` }] : [])
        .concat(SECRET_MODES.map((m) => ({ ...m })))
        .map((m) => ({ ...m, selected: m.value === secretMode })),
      secretValue,
      errors: errors.get(f.key) ?? [],
    }
  })
}

/** The keys of the file the form has no control for, as JSON. */
function otherKeys(fields: readonly FormField[], target: Target): string {
  const mine = formKeys(fields)
  const rest = Object.fromEntries(Object.entries(target.raw).filter(([k]) => !mine.has(k) && k !== 'strategy'))
  return Object.keys(rest).length === 0 ? '' : JSON.stringify(rest, null, 2)
}

/** Each issue under its field's control; the rest under the other keys. */
function errorsByField(fields: readonly FormField[], issues: readonly FieldIssue[]): Map<string, string[]> {
  const errors = new Map<string, string[]>()
  for (const i of issues) {
    const top = i.key.split('.')[0] ?? i.key
    const key = fields.some((f) => f.key === top) ? top : 'other'
    const text = key === top || i.key === 'other' ? i.reason : `${i.key}: ${i.reason}`
    errors.set(key, [...(errors.get(key) ?? []), text])
  }
  return errors
}

function formPage(
  ctx: HttpContext,
  view: Record<string, unknown>,
  target: Target,
  state: {
    form?: URLSearchParams
    issues?: FieldIssue[]
    warnings?: string[]
    file?: { name: string; text: string }
    status?: number
  },
): Response {
  const fields = fieldsFor(ctx, target.strategy)
  const issues = state.issues ?? []
  const shown = controls(fields, target, state.form, issues)
  const action =
    target.mode === 'create' ? '/admin/providers/new' : `/admin/providers/${encodeURIComponent(target.name ?? '')}/edit`
  const file = target.file ?? join(ctx.providerFiles.dir, `${state.form?.get('name')?.trim() || 'NAME'}.json`)
  return page(
    ctx,
    'admin-provider-form',
    {
      ...view,
      mode: target.mode,
      title: target.mode === 'create' ? 'New identity provider' : `Edit ${target.name}`,
      name: target.name,
      action,
      fields: shown,
      other: state.form ? (state.form.get('other') ?? '') : otherKeys(fields, target),
      otherErrors: errorsByField(fields, issues).get('other') ?? [],
      invalid: issues.length > 0,
      warnings: state.warnings ?? [],
      file: state.file,
      target: file,
      typescript: target.file !== undefined && !target.file.endsWith('.json'),
      writable: writableFile(ctx, file),
    },
    // It loads a script: its own live check, from OTPKI's origin.
    { status: state.status ?? 200, headers: { 'content-security-policy': SCRIPT_PAGE_CSP } },
  )
}

/** Checks the posted form: the file it makes, or why it is not valid. */
async function checkPosted(
  ctx: HttpContext,
  form: URLSearchParams,
  target: Target,
): Promise<{ issues: FieldIssue[]; warnings: string[]; file?: { path: string; name: string; text: string } }> {
  const fields = fieldsFor(ctx, target.strategy)
  const { input, issues } = inputFrom(form, fields, target)
  const name = target.mode === 'edit' ? (target.name ?? '') : String(input.name ?? '')
  const path = target.file ?? join(ctx.providerFiles.dir, `${name}.json`)
  if (target.mode === 'create' && name !== '') {
    if (ctx.registry.get(name)) issues.push({ key: 'name', reason: `a provider named ${name} exists` })
    else
      for (const ext of PROVIDER_EXTENSIONS)
        if (await exists(join(ctx.providerFiles.dir, `${name}${ext}`)))
          issues.push({ key: 'name', reason: `${name}${ext} exists in the providers directory` })
  }
  // A file to commit may name a secret that only the deployment has: checking
  // and downloading warn of it; saving here needs it here.
  const warnings: string[] = []
  const secret =
    form.get('action') === 'save'
      ? resolveSecret
      : deploymentSecrets((message) => warnings.push(`${message} on this server: set it where the file is deployed.`))
  const checked = validateProvider(input, path, ctx.providerFiles.defaults, secret)
  if (!checked.ok) issues.push(...checked.issues)
  else issues.push(...ctx.registry.conflicts(checked.provider))
  if (checked.ok) warnings.push(...checked.warnings)
  if (issues.length > 0) return { issues, warnings }
  return { issues, warnings, file: { path, name: `${name}${extname(path)}`, text: fileText(path, input) } }
}

const notWritable = () =>
  new OtpkiError('FORBIDDEN', 'provider files are not writable from the console', {
    publicMessage:
      'The console does not write provider files here (providerFilesWritable is off, or the file is outside the providers directory): download the file and commit it.',
  })

/** `GET /admin/providers/new` and `GET /admin/providers/:name/edit`: the form. */
export function providerForm(ctx: HttpContext, mode: 'create' | 'edit'): Handler {
  return guarded(ctx, 'console', async (event) => {
    const seen = await visit(ctx, event, 'changeProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    return formPage(ctx, seen.view, await targetOf(ctx, event, mode), {})
  })
}

/** `POST` of the form: `action=check` shows the file, `download` sends it, `save` writes it (when allowed). */
export function providerFormPost(ctx: HttpContext, mode: 'create' | 'edit'): Handler {
  return guarded(ctx, 'console', async (event) => {
    const { session, form } = await change(ctx, event, 'changeProviders')
    const seen = await visit(ctx, event, 'changeProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    const target = await targetOf(ctx, event, mode)
    const action = form.get('action')
    if (action === 'save' && !ctx.providerFiles.writable) throw notWritable()
    const { issues, warnings, file } = await checkPosted(ctx, form, target)
    // The form's live check (its script asks for JSON): the issues, and the file once it is valid.
    if (action === 'check' && !wantsPage(event))
      return jsonResponse({ ok: issues.length === 0, issues, warnings, ...(file ? { file: file.text } : {}) })
    if (!file) return formPage(ctx, seen.view, target, { form, issues, warnings, status: 422 })
    if (action === 'download') {
      return textResponse(
        file.text,
        file.name.endsWith('.json') ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
        {
          headers: { 'content-disposition': `attachment; filename="${file.name}"` },
        },
      )
    }
    if (action === 'save') {
      if (!writableFile(ctx, file.path)) throw notWritable()
      await fileChange('write', file.path, () => writeWhole(file.path, file.text))
      const report = await ctx.registry.reload()
      const name = target.name ?? String(form.get('name') ?? '').trim()
      const refused = report.issues.filter((i) => resolve(i.file) === resolve(file.path))
      ctx.audit.record({
        kind: 'admin',
        outcome: refused.length > 0 ? 'failure' : 'success',
        reason: mode === 'create' ? 'provider.create' : 'provider.edit',
        provider: name,
        actor: session.principal.user.username,
        detail: {
          file: file.path,
          before: mode === 'edit' ? Object.keys(target.raw).sort() : undefined,
          refused: refused.map((i) => `${i.key}: ${i.reason}`),
        },
      })
      if (refused.length > 0) return formPage(ctx, seen.view, target, { form, issues: refused, status: 422 })
      return redirectResponse(`/admin/providers/${encodeURIComponent(name)}?done=provider-saved`)
    }
    return formPage(ctx, seen.view, target, { form, file, warnings })
  })
}

/** The providers left after removing `name`, and whether an administrator could still sign in with them. */
async function lockoutAfterRemoving(ctx: HttpContext, name: string): Promise<boolean> {
  const remaining = ctx.registry
    .list()
    .map((e) => e.definition)
    .filter((d) => d.name !== name)
  return !(await ctx.providerFiles.canAdministrate(remaining))
}

function deletePage(
  ctx: HttpContext,
  view: Record<string, unknown>,
  entry: ProviderEntry,
  lockout: boolean,
  error?: string,
): Response {
  return page(
    ctx,
    'admin-provider-delete',
    {
      ...view,
      name: entry.definition.name,
      displayName: entry.definition.displayName,
      file: entry.definition.source,
      writable: writableFile(ctx, entry.definition.source),
      lockout,
      error,
    },
    { status: error ? 422 : 200 },
  )
}

/** `GET /admin/providers/:name/delete`: what removing it means, with the last-provider warning. */
export function providerDelete(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const seen = await visit(ctx, event, 'changeProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    const entry = entryOf(ctx, event)
    return deletePage(ctx, seen.view, entry, await lockoutAfterRemoving(ctx, entry.definition.name))
  })
}

/** `POST /admin/providers/:name/delete`: removes the file (when allowed); a lock-out needs its own confirmation. */
export function providerDeletePost(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const { session, form } = await change(ctx, event, 'changeProviders')
    const seen = await visit(ctx, event, 'changeProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    const entry = entryOf(ctx, event)
    const file = entry.definition.source
    if (!writableFile(ctx, file))
      throw new OtpkiError('FORBIDDEN', 'provider files are not writable from the console', {
        publicMessage: `The console does not remove provider files here: delete ${file} and commit the change.`,
      })
    const lockout = await lockoutAfterRemoving(ctx, entry.definition.name)
    if (lockout && form.get('lockout') !== 'understood')
      return deletePage(ctx, seen.view, entry, lockout, 'Confirm that you understand nobody will be able to sign in.')
    await fileChange('remove', file, () => rm(file))
    await ctx.registry.reload()
    ctx.audit.record({
      kind: 'admin',
      outcome: 'success',
      reason: 'provider.delete',
      provider: entry.definition.name,
      actor: session.principal.user.username,
      detail: { file, lockout },
    })
    return redirectResponse('/admin/providers?done=provider-deleted')
  })
}
