import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { composeApp } from './app.ts'
import type { ProviderSources } from './config/provider-registry.ts'
import { validateProvider } from './config/provider-loader.ts'
import { envelopeFields } from './config/provider-schema.ts'
import { deploymentSecrets } from './config/secrets.ts'
import { TOKENS } from './di/tokens.ts'
import { OtpkiError } from './errors.ts'

/**
 * `otpki providers import`: asks the strategy to turn what the provider
 * publishes into a provider file, adds the preset whose issuer it
 * recognises, validates the file as the server would, and writes it into the
 * providers directory (never over an existing file unless `force`).
 */
export async function importProviderFile(
  source: string,
  opts: { name: string; clientId?: string; strategy?: string; stdout?: boolean; force?: boolean; config?: string },
): Promise<{ file: string; text: string; notes: string[] }> {
  if (!new RegExp(envelopeFields.name.pattern!).test(opts.name))
    throw new OtpkiError('CONFIG_INVALID', `--name: "${opts.name}" must match ${envelopeFields.name.pattern}`)
  const app = await composeApp({
    ...(opts.config ? { configFile: opts.config } : {}),
    overrides: { logLevel: 'silent' },
    watch: false,
  })
  const { defaults } = app.container.resolve<ProviderSources>(TOKENS.ProviderSources)
  const strategy = opts.strategy ?? defaults.strategies.default
  const method = strategy === undefined ? undefined : defaults.strategies.methods.get(strategy)
  if (!method)
    throw new OtpkiError('CONFIG_INVALID', `--strategy: no strategy ${strategy ?? '(default)'} is registered`)
  if (!method.importProvider)
    throw new OtpkiError('CONFIG_INVALID', `the ${method.strategy} strategy cannot import providers`)
  let imported: Awaited<ReturnType<NonNullable<typeof method.importProvider>>>
  try {
    imported = await method.importProvider(source, {
      name: opts.name,
      ...(opts.clientId ? { clientId: opts.clientId } : {}),
      readFile: (path) => readFile(path, 'utf8'),
    })
  } catch (cause) {
    throw new OtpkiError('CONFIG_INVALID', `cannot import ${source}: ${(cause as Error).message}`, { cause })
  }
  const notes = [...imported.notes]
  const keys: Record<string, unknown> = { ...imported.keys }
  const issuer = typeof keys.issuer === 'string' ? keys.issuer : ''
  const preset = [...(defaults.presets?.values() ?? [])].find(
    (p) => p.strategy === method.strategy && p.recognises?.(issuer),
  )
  if (preset) {
    // The preset knows the scopes and claims this provider needs.
    delete keys.scopes
    notes.unshift(
      `the issuer is ${/^[aeio]/.test(preset.name) ? 'an' : 'a'} ${preset.name} one: preset ${preset.name} (${preset.doc})`,
    )
  }
  const file = {
    ...(method.isDefault ? {} : { strategy: method.strategy }),
    ...(preset ? { preset: preset.name } : {}),
    ...keys,
  }
  const path = join(app.config.providersDir, `${opts.name}.json`)
  // The secret is the deployment's: a reference that does not resolve here is no error in the file.
  const checked = validateProvider(file, path, defaults, deploymentSecrets())
  await app.registry.close()
  if (!checked.ok)
    throw new OtpkiError(
      'CONFIG_INVALID',
      `the imported file would not load: ${checked.issues.map((i) => `${i.key}: ${i.reason}`).join('; ')}`,
    )
  const text = `${JSON.stringify(file, null, 2)}\n`
  if (!opts.stdout) {
    const exists = await access(path).then(
      () => true,
      () => false,
    )
    if (exists && !opts.force) throw new OtpkiError('CONFIG_INVALID', `${path} exists (--force replaces it)`)
    await writeFile(path, text, { mode: 0o640 })
  }
  return { file: path, text, notes }
}
