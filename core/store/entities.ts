import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

/** Timestamps are epoch milliseconds, compared with the injected clock. */
const epochMs = () => p.bigint('number')

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.string().length(255).unique(),
    /** The username folded for uniqueness: a case variant of a taken name is taken. */
    usernameKey: p.string().length(255).unique().nullable(),
    firstName: p.string().length(255).nullable(),
    lastName: p.string().length(255).nullable(),
    email: p.string().length(320).nullable(),
    emailVerified: p.boolean().defaultRaw('0'),
    /** Attributes set by attribute mappers, JSON. */
    attributes: p.json<Record<string, unknown>>().columnType('text').nullable(),
    createdAt: epochMs(),
    updatedAt: epochMs(),
  },
})
export type User = InferEntity<typeof UserSchema>

export const RoleSchema = defineEntity({
  name: 'Role',
  tableName: 'roles',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(255).unique(),
    /** Created by OTPKI itself (for example from a provider's roles claim), not by an administrator. */
    system: p.boolean().defaultRaw('0'),
    createdAt: epochMs(),
  },
})
export type Role = InferEntity<typeof RoleSchema>

export const UserRoleSchema = defineEntity({
  name: 'UserRole',
  tableName: 'user_roles',
  properties: {
    user: () => p.manyToOne(UserSchema).primary().deleteRule('cascade'),
    role: () => p.manyToOne(RoleSchema).primary().deleteRule('cascade'),
    /** The provider whose roles claim gave it; null when an administrator did. */
    source: p.string().length(64).nullable(),
    createdAt: epochMs(),
  },
})
export type UserRole = InferEntity<typeof UserRoleSchema>

export const IdentitySchema = defineEntity({
  name: 'Identity',
  tableName: 'identities',
  uniques: [{ properties: ['issuer', 'subject'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade'),
    issuer: p.string().length(1024),
    subject: p.string().length(255),
    provider: p.string().length(64),
    createdAt: epochMs(),
    lastLoginAt: epochMs(),
  },
})
export type Identity = InferEntity<typeof IdentitySchema>

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  indexes: [{ properties: ['issuer', 'subject'] }, { properties: ['issuer', 'sid'] }],
  properties: {
    /** SHA-256 of the session id; the id itself is only in the browser's cookie. */
    idHash: p.string().length(64).primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    method: p.string().length(32),
    provider: p.string().length(64).nullable(),
    createdAt: epochMs(),
    lastSeenAt: epochMs(),
    /** Absolute end of the session. */
    expiresAt: epochMs(),
    /** Idle timeout, seconds. */
    maxInactive: p.integer(),
    /** Kept server-side for the sign-out `id_token_hint`, encrypted with the token key and bound to the session. */
    idToken: p.text().nullable(),
    /** The identity behind the session, for back-channel logout by (issuer, subject). */
    issuer: p.string().length(1024).nullable(),
    subject: p.string().length(255).nullable(),
    /** The provider's session id (`sid`), for back-channel logout by (issuer, sid). */
    sid: p.string().length(255).nullable(),
    /** The provider's tokens (storeTokens), encrypted with the token key. */
    tokens: p.text().nullable(),
  },
})
export type Session = InferEntity<typeof SessionSchema>

export const AuthTransactionSchema = defineEntity({
  name: 'AuthTransaction',
  tableName: 'auth_transactions',
  properties: {
    /** SHA-256 of the transaction id held by the browser's cookie. */
    idHash: p.string().length(64).primary(),
    provider: p.string().length(64),
    issuer: p.string().length(1024),
    generation: p.integer(),
    returnTo: p.string().length(2048),
    /** What the auth method needs at the callback (state, nonce, PKCE verifier), JSON. */
    data: p.text(),
    /** `sign-in`, or `link` (attach an identity to linkUserId, the signed-in user). */
    purpose: p.string().length(16).default('sign-in'),
    linkUserId: p.integer().nullable(),
    /** `none` for a silent (prompt=none) sign-in: provider errors then go back to returnTo. */
    prompt: p.string().length(16).nullable(),
    createdAt: epochMs(),
    expiresAt: epochMs().index(),
  },
})
export type AuthTransaction = InferEntity<typeof AuthTransactionSchema>

export const LogoutTokenSchema = defineEntity({
  name: 'LogoutToken',
  tableName: 'logout_tokens',
  uniques: [{ properties: ['issuer', 'jti'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** A back-channel logout token already used: (issuer, jti), remembered until the token expires. */
    issuer: p.string().length(1024),
    jti: p.string().length(255),
    expiresAt: epochMs().index(),
  },
})
export type LogoutToken = InferEntity<typeof LogoutTokenSchema>

export const entities = [
  UserSchema,
  RoleSchema,
  UserRoleSchema,
  IdentitySchema,
  SessionSchema,
  AuthTransactionSchema,
  LogoutTokenSchema,
]
