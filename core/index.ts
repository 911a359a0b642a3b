/**
 * The public API of OTPKI Sign-in for configuration files and plugins.
 *
 * @example
 * ```ts
 * import { defineConfig, defineProvider, definePlugin } from 'otpki'
 * ```
 * @module
 */
export { defineConfig, type ConfigSections, type MainConfigInput } from './config/main-schema.ts'
export {
  defineProvider,
  envelopeFields,
  type EnvelopeInput,
  type ProviderInput,
  type ProviderStrategies,
} from './config/provider-schema.ts'
export { durationToSeconds } from './config/duration.ts'
export { isLoopbackUrl } from './config/provider-loader.ts'
export type { Duration } from './config/duration.ts'
export type { SecretRef } from './config/secrets.ts'
export {
  definePlugin,
  type CommandSpec,
  type PluginServices,
  type RouteServices,
  type RouteSpec,
  type UserFieldSpec,
  type AdminAccessCheck,
  type ListenerSpec,
  type PluginContext,
  type PluginDefinition,
  type PluginKind,
  type PluginSpec,
  type ProviderPreset,
  type ProviderRule,
} from './contracts/plugin.ts'
export type {
  AuthMethod,
  AuthMethodIO,
  ImportOptions,
  AuthResult,
  OptionsContext,
  ResolvedOptions,
  CallbackRequest,
  FinishResult,
  PendingSignIn,
  LogoutSubject,
  ProviderTokens,
  StartResult,
  VerifiedAccessToken,
} from './contracts/auth-method.ts'
export type { ClaimMapper, ClaimMapperInput, MappedIdentity, SyncMode } from './contracts/claim-mapper.ts'
export type { FlowDecision, FlowStep, FlowStepInput } from './contracts/flow-step.ts'
export { claimStrings, parseClaimPath, readClaim, type ClaimPath } from './claims/claim-path.ts'
export { field, type Field, type FieldIssue, type Fields, type InputOf, type OutputOf } from './config/fields.ts'
export type { StoredUser, UserFields, UserStore, UserSync, UserSyncRefusal } from './contracts/user-sync.ts'
export type {
  ClaimNames,
  Claims,
  ExtensionEntry,
  ProviderDefinition,
} from './contracts/provider.ts'
export type { Clock } from './clock.ts'
export type { Logger } from './logger.ts'
export { OtpkiError, isOtpkiError, type OtpkiErrorCode } from './errors.ts'
export { describeNetworkFailure } from './network-failure.ts'
export type {
  RequestAuthenticator,
  RequestAuthenticatorFactory,
  RequestAuthenticatorServices,
  RequestInfo,
  RequestPrincipal,
} from './contracts/request-authenticator.ts'
export { addressUrl, closeServer, listen, listenFailure } from './server.ts'
export { jsonResponse } from './http/respond.ts'
export { readForm, readJsonObject } from './http/body.ts'
export type { UserDirectory } from './store/user-directory.ts'
export type { ProviderEntry, ProviderStatus } from './config/provider-registry.ts'
export { UserSchema } from './store/entities.ts'
export { addressList, checkAddresses } from './http/rate-limit.ts'
export { normalizeUsername, printable, USERNAME_MAX_LENGTH } from './identity/username.ts'
export { PortableMigration, type SqlDialect } from './store/portable-migration.ts'
export { defineEntity, p } from './store/mikro.ts'
