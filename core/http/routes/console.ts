import type { H3Event } from 'h3'
import type { AuditRecord } from '../../audit/audit-log.ts'
import type { Permission } from '../../config/main-config.ts'
import type { StoredUser } from '../../contracts/user-sync.ts'
import { OtpkiError } from '../../errors.ts'
import type { ActiveSession, SessionSummary } from '../../sessions/session-service.ts'
import { readForm, readUploadForm } from '../body.ts'
import { guarded, page, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { redirectResponse } from '../respond.ts'
import { auditFilter, holds, refuseCrossSite } from './admin.ts'

/**
 * The administration console: server-rendered pages over the same permissions
 * as the JSON routes. Pages need a browser session; every change is a form
 * post with the session's CSRF token, from OTPKI's own origin.
 */

/** The console's sections, in the order the navigation shows them. */
const SECTIONS: { href: string; label: string; permission: Permission }[] = [
  { href: '/admin/users', label: 'Users', permission: 'manageUsers' },
  { href: '/admin/sessions', label: 'Sessions', permission: 'manageSessions' },
  { href: '/admin/providers', label: 'Identity providers', permission: 'readProviders' },
  { href: '/admin/audit', label: 'Audit', permission: 'readAudit' },
]

/** What the pages say after a change (by code, so no text comes from the query). */
const DONE: Record<string, string> = {
  'role-granted': 'The role was granted.',
  'role-held': 'The user already holds that role.',
  'role-revoked': 'The role was revoked.',
  'identity-unlinked': 'The identity was unlinked. The next sign-in through it is treated as a first sign-in.',
  'session-ended': 'The session was ended.',
  'sessions-ended': 'Every session of the user was ended.',
  'user-deleted': 'The user was deleted.',
  'section-added': 'Added.',
  'section-removed': 'Removed.',
  'user-disabled': 'The account is disabled: its sessions ended, and it signs in by no method until enabled.',
  'user-enabled': 'The account is enabled again.',
  'provider-saved': 'The provider file was saved and reloaded.',
  'provider-deleted': 'The provider file was removed; the provider is gone.',
}

/** Whether the request comes from a browser asking for a page (else the JSON route answers). */
export function wantsPage(event: H3Event): boolean {
  return event.req.headers.get('accept')?.includes('text/html') ?? false
}

interface ConsoleVisit {
  session: ActiveSession
  /** The layout's data: who, the sections they may open, the sign-out token, a notice. */
  view: Record<string, unknown>
}

/** The signed-in visitor holding `permission`, or a redirect to sign in. */
export async function visit(
  ctx: HttpContext,
  event: H3Event,
  permission: Permission,
  current: string,
): Promise<ConsoleVisit | Response> {
  const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
  if (!session) return redirectResponse(`/auth/sign-in?returnTo=${encodeURIComponent(event.url.pathname)}`)
  if (!holds(ctx, session.principal, permission)) {
    throw new OtpkiError('FORBIDDEN', `${session.principal.user.username} lacks the ${permission} permission`, {
      publicMessage: `This page needs the ${permission} permission.`,
    })
  }
  const done = event.url.searchParams.get('done')
  return {
    session,
    view: {
      console: {
        username: session.principal.user.username,
        nav: SECTIONS.filter((s) => holds(ctx, session.principal, s.permission)).map((s) => ({
          ...s,
          current: s.href === current,
        })),
        signOutCsrf: ctx.csrf.token(session.idHash, 'sign-out'),
      },
      csrf: ctx.csrf.token(session.idHash, 'admin'),
      notice: done ? DONE[done] : undefined,
    },
  }
}

/** A console form post: the visitor with the permission, its fields, checked for CSRF and origin. */
export async function change(
  ctx: HttpContext,
  event: H3Event,
  permission: Permission,
): Promise<{ session: ActiveSession; form: URLSearchParams }> {
  refuseCrossSite(ctx, event)
  const form = await readForm(event)
  const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
  if (!session)
    throw new OtpkiError('SESSION_INVALID', 'console change without a session', { publicMessage: 'Sign in first.' })
  if (!holds(ctx, session.principal, permission)) {
    throw new OtpkiError('FORBIDDEN', `${session.principal.user.username} lacks the ${permission} permission`, {
      publicMessage: `This needs the ${permission} permission.`,
    })
  }
  if (!ctx.csrf.verify(form.get('csrf'), session.idHash, 'admin')) {
    throw new OtpkiError('CSRF_INVALID', 'console change without a valid CSRF token', {
      publicMessage: 'This form has expired. Please reload the page and try again.',
    })
  }
  return { session, form }
}

const iso = (ms: number) => new Date(ms).toISOString()
/** A time as the console shows it: UTC, to the minute, with the exact time in `datetime`. */
const shown = (ms: number) => ({ iso: iso(ms), text: `${iso(ms).replace('T', ' ').slice(0, 16)} UTC` })

async function userByName(ctx: HttpContext, event: H3Event): Promise<StoredUser> {
  const name = decodeURIComponent(event.context.params?.username ?? '')
  return ctx.services.users.requireUser(name)
}

/** `GET /admin`: the first section the visitor may open. */
export function consoleHome(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
    if (!session) return redirectResponse('/auth/sign-in?returnTo=%2Fadmin')
    const first = SECTIONS.find((s) => holds(ctx, session.principal, s.permission))
    if (!first)
      throw new OtpkiError('FORBIDDEN', `${session.principal.user.username} holds no console permission`, {
        publicMessage: 'Your account holds no administration permission.',
      })
    return redirectResponse(first.href)
  })
}

/** `GET /admin/users` as a page: search by username or email prefix, 50 a page. */
export async function usersPage(ctx: HttpContext, event: H3Event): Promise<Response> {
  const seen = await visit(ctx, event, 'manageUsers', '/admin/users')
  if (seen instanceof Response) return seen
  const q = (event.url.searchParams.get('q') ?? '').slice(0, 128)
  const after = event.url.searchParams.get('after') ?? undefined
  const { users, next } = await ctx.services.users.search({ q, after, limit: 50 })
  const counts = await Promise.all(
    ctx.userFields.map(
      async (f) =>
        [
          f,
          await f.values(
            ctx.services,
            users.map((u) => u.id),
          ),
        ] as const,
    ),
  )
  return page(ctx, 'admin-users', {
    ...seen.view,
    q,
    fields: ctx.userFields.map((f) => ({ name: f.name, header: f.header })),
    users: users.map((u) => ({
      username: u.username,
      name: [u.firstName, u.lastName].filter(Boolean).join(' '),
      email: u.email ?? '',
      emailVerified: u.emailVerified,
      disabled: u.disabled ?? false,
      roles: u.roles,
      fields: counts.map(([f, values]) => ({ header: f.header, value: values.get(u.id) ?? 0 })),
    })),
    next: next ? `/admin/users?${new URLSearchParams({ ...(q ? { q } : {}), after: next })}` : undefined,
  })
}

/** `GET /admin/users/:username`: the user, roles (by hand and from providers), identities, sessions. */
export function userPage(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const seen = await visit(ctx, event, 'manageUsers', '/admin/users')
    if (seen instanceof Response) return seen
    const user = await userByName(ctx, event)
    const details = await ctx.services.users.details(user.id)
    const mayEndSessions = holds(ctx, seen.session.principal, 'manageSessions')
    const sessions = mayEndSessions ? await ctx.sessions.list({ userId: user.id }) : []
    const displayName = (name: string) => ctx.registry.get(name)?.definition.displayName ?? name
    const sections = await Promise.all(
      ctx.adminSections
        .filter((s) => holds(ctx, seen.session.principal, s.permission))
        .map(async (s) => ({
          name: s.name,
          title: s.title,
          path: `/admin/users/${encodeURIComponent(user.username)}/sections/${encodeURIComponent(s.name)}`,
          columns: s.columns,
          rows: await s.rows(user, ctx.services),
          add: s.add ? { label: s.add.label, accept: s.add.accept } : undefined,
          remove: s.remove ? { label: s.remove.label } : undefined,
        })),
    )
    return page(ctx, 'admin-user', {
      ...seen.view,
      sections,
      user: {
        username: user.username,
        path: `/admin/users/${encodeURIComponent(user.username)}`,
        name: [user.firstName, user.lastName].filter(Boolean).join(' '),
        email: user.email ?? '',
        emailVerified: user.emailVerified,
        disabled: user.disabled ?? false,
        attributes: Object.entries(user.attributes).map(([k, v]) => ({ key: k, value: JSON.stringify(v) })),
      },
      manualRoles: details.roles.filter((r) => r.source === null).map((r) => r.name),
      providerRoles: details.roles
        .filter((r) => r.source !== null)
        .map((r) => ({ name: r.name, source: displayName(r.source!) })),
      identities: details.identities.map((i) => ({
        id: i.id,
        provider: displayName(i.provider),
        subject: i.subject,
        issuer: i.issuer,
        lastLogin: shown(i.lastLoginAt),
      })),
      mayEndSessions,
      sessions: sessions.map((s) => sessionRow(ctx, s, seen.session)),
    })
  })
}

/** `POST /admin/users/:username` (form: csrf, action, role | identity | session): a change to a user. */
export function userChange(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const action = event.url.searchParams.get('action') ?? ''
    const permission: Permission = action.startsWith('session') ? 'manageSessions' : 'manageUsers'
    const { session, form } = await change(ctx, event, permission)
    const user = await userByName(ctx, event)
    const actor = session.principal.user.username
    const back = (done: string) => redirectResponse(`/admin/users/${encodeURIComponent(user.username)}?done=${done}`)
    const audit = (reason: string, detail: Record<string, unknown>) =>
      ctx.audit.record({ kind: 'admin', outcome: 'success', reason, username: user.username, actor, detail })
    switch (action) {
      case 'grant-role': {
        const role = form.get('role') ?? ''
        const granted = await ctx.services.users.grantRole(user.id, role)
        if (granted) audit('role.grant', { role: role.trim(), before: user.roles })
        return back(granted ? 'role-granted' : 'role-held')
      }
      case 'revoke-role': {
        const role = form.get('role') ?? ''
        if (await ctx.services.users.revokeRole(user.id, role)) audit('role.revoke', { role, before: user.roles })
        return back('role-revoked')
      }
      case 'unlink': {
        const provider = await ctx.services.users.unlink(user.id, Number(form.get('identity')))
        if (!provider)
          throw new OtpkiError('NOT_FOUND', 'no such identity of the user', { publicMessage: 'No such identity.' })
        audit('identity.unlink', { provider })
        return back('identity-unlinked')
      }
      case 'session-end': {
        const hash = form.get('session') ?? ''
        const mine = (await ctx.sessions.list({ userId: user.id, idHash: hash })).length > 0
        if (!mine || !(await ctx.sessions.endByHash(hash)))
          throw new OtpkiError('NOT_FOUND', 'no such session of the user', { publicMessage: 'No such session.' })
        audit('session.end', { session: hash.slice(0, 12) })
        return back('session-ended')
      }
      case 'sessions-end-all': {
        const ended = await ctx.sessions.endByUser(user.id)
        audit('session.end-all', { ended })
        return back('sessions-ended')
      }
      case 'disable':
      case 'enable': {
        const disabled = action === 'disable'
        if (disabled && user.id === session.principal.user.id)
          throw new OtpkiError('REQUEST_INVALID', 'an administrator cannot disable their own account', {
            publicMessage: 'You cannot disable your own account.',
          })
        if (await ctx.services.users.setDisabled(user.id, disabled)) {
          const ended = disabled ? await ctx.sessions.endByUser(user.id) : 0
          audit(disabled ? 'user.disable' : 'user.enable', disabled ? { sessionsEnded: ended } : {})
        }
        return back(disabled ? 'user-disabled' : 'user-enabled')
      }
      case 'delete': {
        if (user.id === session.principal.user.id)
          throw new OtpkiError('REQUEST_INVALID', 'an administrator cannot delete their own account', {
            publicMessage: 'You cannot delete your own account.',
          })
        await ctx.services.users.deleteUser(user.id)
        audit('user.delete', { before: { email: user.email ?? null, roles: user.roles } })
        return redirectResponse('/admin/users?done=user-deleted')
      }
      default:
        throw new OtpkiError('REQUEST_INVALID', `unknown console action ${action.slice(0, 40)}`, {
          publicMessage: 'Unknown action.',
        })
    }
  })
}

/** `GET /admin/sessions` as a page: active sessions, most recently used first. */
export async function sessionsPage(ctx: HttpContext, event: H3Event): Promise<Response> {
  const seen = await visit(ctx, event, 'manageSessions', '/admin/sessions')
  if (seen instanceof Response) return seen
  const sessions = await ctx.sessions.list({ limit: 200 })
  return page(ctx, 'admin-sessions', {
    ...seen.view,
    sessions: sessions.map((s) => sessionRow(ctx, s, seen.session)),
  })
}

/** A session as the console's tables show it. */
function sessionRow(ctx: HttpContext, s: SessionSummary, current: ActiveSession) {
  return {
    hash: s.idHash,
    short: s.idHash.slice(0, 10),
    username: s.username,
    userPath: `/admin/users/${encodeURIComponent(s.username)}`,
    method: s.method,
    provider: s.provider ? (ctx.registry.get(s.provider)?.definition.displayName ?? s.provider) : '—',
    started: shown(s.createdAt),
    lastSeen: shown(s.lastSeenAt),
    ends: shown(s.expiresAt),
    current: s.idHash === current.idHash,
  }
}

/** `POST /admin/sessions` (form: csrf, session): ends any session. */
export function sessionEnd(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const { session, form } = await change(ctx, event, 'manageSessions')
    const hash = form.get('session') ?? ''
    const [target] = await ctx.sessions.list({ idHash: hash })
    if (!target || !(await ctx.sessions.endByHash(hash)))
      throw new OtpkiError('NOT_FOUND', 'no such session', { publicMessage: 'No such session.' })
    ctx.audit.record({
      kind: 'admin',
      outcome: 'success',
      reason: 'session.end',
      username: target.username,
      provider: target.provider ?? undefined,
      method: target.method,
      actor: session.principal.user.username,
      detail: { session: hash.slice(0, 12) },
    })
    return redirectResponse('/admin/sessions?done=session-ended')
  })
}

/** `GET /admin/audit` as a page: filters, newest first, 100 a page. */
export async function auditPage(ctx: HttpContext, event: H3Event): Promise<Response> {
  const seen = await visit(ctx, event, 'readAudit', '/admin/audit')
  if (seen instanceof Response) return seen
  const query = event.url.searchParams
  const filter = auditFilter(query)
  const limit = filter.limit ?? 100
  const events = await ctx.audit.query({ ...filter, limit })
  const nextQuery = new URLSearchParams(query)
  nextQuery.delete('done')
  if (events.length === limit) nextQuery.set('before', String(events.at(-1)!.id))
  return page(ctx, 'admin-audit', {
    ...seen.view,
    filter: {
      user: query.get('user') ?? '',
      provider: query.get('provider') ?? '',
      outcome: query.get('outcome') ?? '',
      kind: query.get('kind') ?? '',
      since: query.get('since') ?? '',
    },
    events: events.map((e: AuditRecord) => ({
      at: shown(e.at),
      kind: e.kind,
      outcome: e.outcome,
      reason: e.reason ?? '',
      username: e.username ?? '',
      provider: e.provider ?? '',
      actor: e.actor ?? '',
      detail: e.detail ? JSON.stringify(e.detail) : '',
    })),
    next: events.length === limit ? `/admin/audit?${nextQuery}` : undefined,
  })
}

/** `GET /admin/providers`: every provider with its status, file, and sign-ins in the last 24 hours. */
export function providersPage(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const seen = await visit(ctx, event, 'readProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    const since = ctx.clock.now() - 86_400_000
    const rows = await ctx.orm.em
      .getConnection()
      .execute<{ provider: string; n: number | string }[]>(
        "select provider, count(*) as n from audit_events where kind = 'sign-in' and outcome = 'success' and at >= ? and provider is not null group by provider",
        [since],
        'all',
      )
    const signIns = new Map(rows.map((r) => [r.provider, Number(r.n)]))
    const report = ctx.registry.lastReport()
    return page(ctx, 'admin-providers', {
      ...seen.view,
      canChange: holds(ctx, seen.session.principal, 'changeProviders'),
      lastReload: report ? shown(report.at) : undefined,
      rejected: (report?.issues ?? []).map((i) => ({ file: i.file, key: i.key ?? '', reason: i.reason })),
      providers: ctx.registry.list().map((e) => {
        const d = e.definition
        const status = e.status()
        return {
          name: d.name,
          displayName: d.displayName,
          strategy: d.strategy,
          issuer: d.issuer,
          clientId: String((d.options as { clientId?: unknown }).clientId ?? ''),
          redirectUrl: String((d.options as { redirectUrl?: unknown }).redirectUrl ?? ''),
          discovery: discoveryText(d.options as { discovery?: unknown; endpoints?: Record<string, unknown> }),
          enabled: d.enabled,
          hidden: d.hideOnLoginPage,
          createUsers: d.createUnknownUsers,
          createRoles: d.createUnknownRoles,
          source: d.source,
          state: status.state,
          error: status.error ?? '',
          signIns: signIns.get(d.name) ?? 0,
        }
      }),
    })
  })
}

/** The largest file a console section accepts (a certificate chain fits many times). */
const UPLOAD_LIMIT = 262_144

/** `POST /admin/users/:username/sections/:name?action=add|remove`: a plugin section's change. */
export function sectionChange(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const name = event.context.params?.name ?? ''
    const section = ctx.adminSections.find((s) => s.name === name)
    if (!section) throw new OtpkiError('NOT_FOUND', `no console section ${name.slice(0, 40)}`)
    const action = event.url.searchParams.get('action')
    refuseCrossSite(ctx, event)
    const form = await readUploadForm(event, UPLOAD_LIMIT)
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
    if (!session)
      throw new OtpkiError('SESSION_INVALID', 'console change without a session', { publicMessage: 'Sign in first.' })
    if (!holds(ctx, session.principal, section.permission))
      throw new OtpkiError(
        'FORBIDDEN',
        `${session.principal.user.username} lacks the ${section.permission} permission`,
        {
          publicMessage: `This needs the ${section.permission} permission.`,
        },
      )
    const token = form.get('csrf')
    if (!ctx.csrf.verify(typeof token === 'string' ? token : undefined, session.idHash, 'admin'))
      throw new OtpkiError('CSRF_INVALID', 'console change without a valid CSRF token', {
        publicMessage: 'This form has expired. Please reload the page and try again.',
      })
    const user = await userByName(ctx, event)
    const record = (reason: string, detail: Record<string, unknown>) =>
      ctx.audit.record({
        kind: 'admin',
        outcome: 'success',
        reason: `${section.name}.${reason}`,
        username: user.username,
        actor: session.principal.user.username,
        detail,
      })
    const back = (done: string) => redirectResponse(`/admin/users/${encodeURIComponent(user.username)}?done=${done}`)
    if (action === 'add' && section.add) {
      const file = form.get('file')
      if (!file || typeof file === 'string' || file.size === 0)
        throw new OtpkiError('REQUEST_INVALID', 'no file uploaded', { publicMessage: 'Choose a file to upload.' })
      record('add', await section.add.run(user, new Uint8Array(await file.arrayBuffer()), ctx.services))
      return back('section-added')
    }
    if (action === 'remove' && section.remove) {
      const id = form.get('id')
      if (typeof id !== 'string' || id === '')
        throw new OtpkiError('REQUEST_INVALID', 'no row named', { publicMessage: 'Nothing to remove.' })
      await section.remove.run(user, id, ctx.services)
      record('remove', { id })
      return back('section-removed')
    }
    throw new OtpkiError('REQUEST_INVALID', `unknown section action ${String(action).slice(0, 40)}`, {
      publicMessage: 'Unknown action.',
    })
  })
}

/** Keys whose values are never shown, whatever their schema says. */
const SECRET_NAME = /secret|password|private|token|key$/i

/** A provider's effective configuration with every secret value masked. */
export function maskedDefinition(definition: object, secretKeys: ReadonlySet<string>): unknown {
  const mask = (value: unknown, key: string): unknown => {
    if (value === undefined || value === null) return value
    if (secretKeys.has(key) || (SECRET_NAME.test(key) && typeof value !== 'boolean')) return '********'
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, mask(v, String(k))]))
    if (Array.isArray(value)) return value.map((v) => mask(v, ''))
    if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]))
    if (typeof value === 'function') return undefined
    return value
  }
  return mask(definition, '')
}

/** `GET /admin/providers/:name`: one provider's effective configuration, secrets masked. */
export function providerPage(ctx: HttpContext): Handler {
  return guarded(ctx, 'console', async (event) => {
    const seen = await visit(ctx, event, 'readProviders', '/admin/providers')
    if (seen instanceof Response) return seen
    const entry = ctx.registry.get(decodeURIComponent(event.context.params?.name ?? ''))
    if (!entry) throw new OtpkiError('NOT_FOUND', 'no such provider', { publicMessage: 'No such provider.' })
    const fields = (entry.method as { optionsSchema?: Record<string, { kind?: string }> }).optionsSchema ?? {}
    const secretKeys = new Set(
      Object.entries(fields)
        .filter(([, f]) => f?.kind === 'secret')
        .map(([k]) => k),
    )
    const status = entry.status()
    return page(ctx, 'admin-provider', {
      ...seen.view,
      canChange: holds(ctx, seen.session.principal, 'changeProviders'),
      name: entry.definition.name,
      displayName: entry.definition.displayName,
      state: status.state,
      error: status.error ?? '',
      source: entry.definition.source,
      effective: JSON.stringify(maskedDefinition(entry.definition, secretKeys), null, 2),
    })
  })
}

/** How a provider finds its endpoints: `auto`, `auto+overrides` or `manual` (as `otpki providers` says). */
function discoveryText(options: { discovery?: unknown; endpoints?: Record<string, unknown> }): string {
  if (options.discovery === undefined) return ''
  if (options.discovery === false) return 'manual'
  return options.endpoints && Object.keys(options.endpoints).length > 0 ? 'auto+overrides' : 'auto'
}
