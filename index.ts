/**
 * The `otpki` package: core's public API (see `core/index.ts`), with the
 * provider options of the built-in strategies, so `defineProvider` types a
 * provider file whole wherever the file is.
 *
 * @module
 */
export * from './core/index.ts'
export type { OidcOptionsInput } from './plugins/oidc/options.ts'
