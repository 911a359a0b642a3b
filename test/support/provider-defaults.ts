import { strategyTable, type ProviderDefaults } from '../../core/config/provider-loader.ts'
import { envelopeFields } from '../../core/config/provider-schema.ts'
import { oidcAuthMethod } from '../../plugins/oidc/oidc-auth-method.ts'
import { oidcOptionFields } from '../../plugins/oidc/options.ts'
import { oidcPresets } from '../../plugins/oidc/presets.ts'

/** The built-in strategies, as the running server has them. */
export const builtinStrategies = strategyTable([oidcAuthMethod])

/** What a provider inherits from a main config with https://pki.example.com, 30m and 10h. */
export const providerDefaults: ProviderDefaults = {
  publicUrl: 'https://pki.example.com',
  sessionMaxInactive: 1800,
  sessionMaxLength: 36000,
  strategies: builtinStrategies,
  presets: new Map(oidcPresets.map((p) => [p.name, p])),
}

/** Every key a provider file of the built-in strategies may hold: the envelope's and the OIDC options. */
export const providerKeys = [...Object.keys(envelopeFields), ...Object.keys(oidcOptionFields)]
