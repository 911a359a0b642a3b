import type { InferEntity } from '@mikro-orm/core'
import { defineEntity, p } from './mikro.ts'

/** Timestamps are epoch milliseconds, compared with the injected clock. */
const epochMs = () => p.bigint('number')

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.text().unique(),
    /** The username folded for uniqueness: a case variant of a taken name is taken. */
    usernameKey: p.text().unique().nullable(),
    firstName: p.text().nullable(),
    lastName: p.text().nullable(),
    email: p.text().nullable().index(),
    emailVerified: p.boolean().onCreate(() => false),
    /** Disabled by an administrator: no sign-in by any method. */
    disabled: p.boolean().default(false),
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
    name: p.text().unique(),
    /** Created by OTPKI itself (for example from a provider's roles claim), not by an administrator. */
    system: p.boolean().onCreate(() => false),
    createdAt: epochMs(),
  },
})
export type Role = InferEntity<typeof RoleSchema>

export const UserRoleSchema = defineEntity({
  name: 'UserRole',
  tableName: 'user_roles',
  properties: {
    user: () => p.manyToOne(UserSchema).primary().deleteRule('cascade').index(),
    role: () => p.manyToOne(RoleSchema).primary().deleteRule('cascade').index(),
    /** The provider whose roles claim gave it; null when an administrator did. */
    source: p.text().nullable(),
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
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    issuer: p.text(),
    subject: p.text(),
    provider: p.text(),
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
    idHash: p.text().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    method: p.text(),
    provider: p.text().nullable(),
    createdAt: epochMs(),
    lastSeenAt: epochMs(),
    /** Absolute end of the session. */
    expiresAt: epochMs(),
    /** Idle timeout, seconds. */
    maxInactive: p.integer(),
    /** Kept server-side for the sign-out `id_token_hint`, encrypted with the token key and bound to the session. */
    idToken: p.text().nullable(),
    /** The identity behind the session, for back-channel logout by (issuer, subject). */
    issuer: p.text().nullable(),
    subject: p.text().nullable(),
    /** The provider's session id (`sid`), for back-channel logout by (issuer, sid). */
    sid: p.text().nullable(),
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
    idHash: p.text().primary(),
    provider: p.text(),
    issuer: p.text(),
    generation: p.integer(),
    returnTo: p.text(),
    /** What the auth method needs at the callback (state, nonce, PKCE verifier), JSON. */
    data: p.text(),
    /** `sign-in`, or `link` (attach an identity to linkUserId, the signed-in user). */
    purpose: p.text().default('sign-in'),
    linkUserId: p.integer().nullable(),
    /** `none` for a silent (prompt=none) sign-in: provider errors then go back to returnTo. */
    prompt: p.text().nullable(),
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
    issuer: p.text(),
    jti: p.text(),
    expiresAt: epochMs().index(),
  },
})
export type LogoutToken = InferEntity<typeof LogoutTokenSchema>
/** Changes that affect authentication, for the other processes on an SQLite database to read (PostgreSQL uses NOTIFY). */
export const ChangeSchema = defineEntity({
  name: 'Change',
  tableName: 'changes',
  properties: {
    id: p.integer().primary().autoincrement(),
    origin: p.text(),
    payload: p.text(),
    at: p.bigint('number').index(),
  },
})

/** The audit trail: sign-ins and refusals, sign-outs, administrative and CLI actions, reloads. */
export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  indexes: [{ properties: ['username', 'at'] }, { properties: ['provider', 'at'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    at: p.bigint('number').index(),
    /** `sign-in`, `sign-out`, `admin`, `cli` or `reload`. */
    kind: p.text(),
    /** `success` or `failure`. */
    outcome: p.text(),
    /** The error code of a failure (`STATE_MISMATCH`, say), or what was done (`session.end`). */
    reason: p.text().nullable(),
    /** Whom it concerns. */
    username: p.text().nullable(),
    provider: p.text().nullable(),
    method: p.text().nullable(),
    /** Who did it: an administrator's username, `cli`, or `otpki` for the server itself. */
    actor: p.text().nullable(),
    /** What else there is to know, JSON: the mapped identity, the before and after of a change, a reload's files. */
    detail: p.text().nullable(),
  },
})

export const entities = [
  AuditEventSchema,
  ChangeSchema,
  UserSchema,
  RoleSchema,
  UserRoleSchema,
  IdentitySchema,
  SessionSchema,
  AuthTransactionSchema,
  LogoutTokenSchema,
]
