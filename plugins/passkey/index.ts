import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { H3Event } from 'h3'
import {
  definePlugin,
  isOtpkiError,
  jsonResponse,
  OtpkiError,
  readJsonObject,
  type PluginServices,
  type RouteServices,
  type StoredUser,
} from 'otpki'
import { mayRegister, PASSKEY_DOC, passkeyFields, resolvePasskeyConfig } from './config.ts'
import { passkeyMethod } from './method.ts'
import { registerPasskey, registrationOptions } from './registration.ts'
import { PASSKEY_MIGRATIONS, PasskeyChallengeSchema, type PasskeyInfo, PasskeySchema, PasskeyStore } from './store.ts'

/** This folder in the sources (the compiled plugin reads the templates, script and provider file from there). */
const here = fileURLToPath(new URL('.', import.meta.url)).replace(/\/dist\/plugins\//, '/plugins/')

/** A time in UTC to the minute, for a page. */
const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`

const param = (event: H3Event, name: string) => decodeURIComponent(event.context.params?.[name] ?? '')

const redirect = (location: string) =>
  new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store' } })

/**
 * Passkeys (WebAuthn) as an auth method: users register passkeys on
 * /auth/passkeys and sign in with one from the sign-in page, through the
 * `passkey` provider this plugin ships. It owns the `passkeys` section of the
 * main configuration, its tables, its pages and routes, the console's
 * Passkeys section and the `otpki users passkeys` commands.
 */
export default definePlugin({
  name: 'passkey',
  kind: 'auth-method',
  config: { key: 'passkeys', fields: passkeyFields, doc: PASSKEY_DOC },
  register(ctx) {
    const config = resolvePasskeyConfig(ctx.config as never, ctx.publicUrl)
    let started: PluginServices | undefined
    const services = () => {
      if (!started) throw new OtpkiError('INTERNAL', 'passkeys are used before the database is open')
      return started
    }
    ctx.onStart((s) => {
      started = s
    })
    ctx.entities([PasskeySchema, PasskeyChallengeSchema], PASSKEY_MIGRATIONS)
    ctx.registerAuthMethod(passkeyMethod(config, services))
    ctx.addProvidersDir(join(here, 'providers'))
    ctx.templates(join(here, 'templates'))

    const script = readFileSync(join(here, 'static', 'passkey.js'), 'utf8')
    ctx.route({
      method: 'GET',
      path: '/auth/passkeys/passkey.js',
      handler: () =>
        new Response(script, {
          headers: {
            'content-type': 'text/javascript; charset=utf-8',
            'x-content-type-options': 'nosniff',
            'cache-control': 'no-cache',
          },
        }),
    })

    // Signing in: the ceremony page the passkey provider's start sends the browser to.
    ctx.route({
      method: 'GET',
      path: '/auth/passkeys/sign-in',
      answers: 'page',
      handler(event, route) {
        const challenge = event.url.searchParams.get('challenge') ?? ''
        if (!/^[\w-]{43}$/.test(challenge)) {
          throw new OtpkiError('REQUEST_INVALID', 'passkey sign-in page without a challenge', {
            publicMessage: 'Start the passkey sign-in from the sign-in page.',
          })
        }
        return route.render(
          'passkey-sign-in',
          { challenge, rpId: config.rpId, timeout: config.timeoutMs },
          { scripts: true },
        )
      },
    })

    // Managing one's own passkeys.
    // A browser session only: a bearer token or a certificate must not add a lasting way in.
    const signedIn = async (event: H3Event, route: RouteServices, changes: boolean): Promise<StoredUser> => {
      // The caller as the auth check sees it (a bearer token or certificate comes before the cookie) must be the cookie's session.
      const principal = await route.requireUser(event, { changes })
      const session = await route.sessions.lookup(event)
      const same = session?.principal
      if (!same || same.method !== principal.method || same.user.id !== principal.user.id)
        throw new OtpkiError(
          'SESSION_INVALID',
          `passkeys managed by a ${principal.method} credential, not a browser session`,
          {
            publicMessage: 'Sign in first: passkeys are managed from a signed-in browser.',
          },
        )
      const user = await route.users.findById(principal.user.id)
      if (!user)
        throw new OtpkiError('SESSION_INVALID', 'the signed-in user is gone', { publicMessage: 'Sign in first.' })
      return user
    }
    const audit = (route: RouteServices, reason: string, user: StoredUser, actor: string, passkey: PasskeyInfo) =>
      route.audit.record({
        kind: 'admin',
        outcome: 'success',
        reason,
        username: user.username,
        actor,
        detail: { passkey: passkey.id, name: passkey.name },
      })
    ctx.route({
      method: 'GET',
      path: '/auth/passkeys',
      answers: 'page',
      async handler(event, route) {
        let user: StoredUser
        try {
          user = await signedIn(event, route, false)
        } catch (error) {
          if (isOtpkiError(error, 'SESSION_INVALID')) return redirect('/auth/sign-in?returnTo=%2Fauth%2Fpasskeys')
          throw error
        }
        const passkeys = await new PasskeyStore(route).list(user.id)
        const query = event.url.searchParams
        // Where a sign-in was going before it came here (a path of OTPKI's only).
        const returnTo = query.get('returnTo') ?? ''
        const continueTo = /^\/(?![/\\])[^\s]*$/.test(returnTo) ? returnTo : undefined
        return route.render(
          'passkeys',
          {
            passkeys: passkeys.map((p) => ({
              ...p,
              created: utc(p.createdAt),
              createdDay: p.createdAt.slice(0, 10),
              lastUsed: p.lastUsedAt ? utc(p.lastUsedAt) : undefined,
              lastUsedDay: p.lastUsedAt?.slice(0, 10),
            })),
            mayRegister: mayRegister(config, user.roles),
            required: passkeys.length === 0 && user.roles.some((r) => config.requireForRoles.includes(r)),
            continueTo,
            notice: query.has('added')
              ? 'Your passkey is registered.'
              : query.has('removed')
                ? 'The passkey is removed.'
                : undefined,
          },
          { scripts: true },
        )
      },
    })
    ctx.route({
      method: 'POST',
      path: '/auth/passkeys/options',
      async handler(event, route) {
        const user = await signedIn(event, route, true)
        return jsonResponse(await registrationOptions(config, route, user))
      },
    })
    ctx.route({
      method: 'POST',
      path: '/auth/passkeys',
      async handler(event, route) {
        const user = await signedIn(event, route, true)
        const passkey = await registerPasskey(config, route, user, await readJsonObject(event))
        audit(route, 'passkey.register', user, user.username, passkey)
        return jsonResponse({ passkey }, { status: 201 })
      },
    })
    ctx.route({
      method: 'DELETE',
      path: '/auth/passkeys/:id',
      async handler(event, route) {
        const user = await signedIn(event, route, true)
        const passkey = await new PasskeyStore(route).remove(user, param(event, 'id'))
        audit(route, 'passkey.remove', user, user.username, passkey)
        return jsonResponse({ removed: true })
      },
    })
    ctx.accountLink({
      label: 'Passkeys',
      path: '/auth/passkeys',
      async note(user, s) {
        const count = (await new PasskeyStore(s).counts([user.id])).get(user.id) ?? 0
        if (count > 0) return `${count} registered`
        return user.roles.some((r) => config.requireForRoles.includes(r))
          ? 'Required for your account: register one'
          : 'Sign in without an identity provider'
      },
      shown: (user) => mayRegister(config, user.roles),
      // Members of requireForRoles without a passkey are sent to register one right after signing in.
      required: async (user, s) =>
        user.roles.some((r) => config.requireForRoles.includes(r)) &&
        ((await new PasskeyStore(s).counts([user.id])).get(user.id) ?? 0) === 0,
    })

    // Administrators: see and revoke a user's passkeys (console, routes, CLI).
    ctx.userField({
      name: 'passkeys',
      header: 'PASSKEYS',
      values: (s, userIds) => new PasskeyStore(s).counts(userIds),
    })
    ctx.adminSection({
      name: 'passkeys',
      title: 'Passkeys',
      permission: 'manageUsers',
      columns: [
        { key: 'name', label: 'Name' },
        { key: 'created', label: 'Added' },
        { key: 'lastUsed', label: 'Last used' },
        { key: 'id', label: 'Credential ID' },
      ],
      async rows(user, s) {
        return (await new PasskeyStore(s).list(user.id)).map((p) => ({
          id: p.id,
          cells: {
            name: p.name,
            created: utc(p.createdAt),
            lastUsed: p.lastUsedAt ? utc(p.lastUsedAt) : 'never',
            id: p.id,
          },
        }))
      },
      remove: {
        label: 'Revoke',
        run: async (user, id, s) => {
          await new PasskeyStore(s).remove(user, id)
          s.users.changed(user.id)
        },
      },
    })
    ctx.route({
      method: 'GET',
      path: '/admin/users/:username/passkeys',
      async handler(event, route) {
        await route.requirePermission(event, 'manageUsers', { changes: false })
        const user = await route.users.requireUser(param(event, 'username'))
        return jsonResponse({ passkeys: await new PasskeyStore(route).list(user.id) })
      },
    })
    ctx.route({
      method: 'DELETE',
      path: '/admin/users/:username/passkeys/:id',
      async handler(event, route) {
        const admin = await route.requirePermission(event, 'manageUsers', { changes: true })
        const user = await route.users.requireUser(param(event, 'username'))
        const passkey = await new PasskeyStore(route).remove(user, param(event, 'id'))
        audit(route, 'passkey.remove', user, admin.user.username, passkey)
        return jsonResponse({ removed: true })
      },
    })
    ctx.command({
      name: 'users passkeys',
      arguments: ['username'],
      description: "list a user's passkeys",
      async action([username], s) {
        const user = await s.users.requireUser(username!)
        const passkeys = await new PasskeyStore(s).list(user.id)
        if (passkeys.length === 0) s.print(`${user.username} has no passkey`)
        for (const p of passkeys)
          s.print(
            `${p.id}  ${p.name}  added ${utc(p.createdAt)}  last used ${p.lastUsedAt ? utc(p.lastUsedAt) : 'never'}`,
          )
      },
    })
    ctx.command({
      name: 'users remove-passkey',
      arguments: ['username', 'id'],
      description: "revoke one of a user's passkeys (its credential ID, from `otpki users passkeys`)",
      async action([username, id], s) {
        const user = await s.users.requireUser(username!)
        const passkey = await new PasskeyStore(s).remove(user, id!)
        s.users.changed(user.id)
        s.audit.record({
          kind: 'cli',
          outcome: 'success',
          reason: 'passkey.remove',
          username: user.username,
          actor: 'cli',
          detail: { passkey: passkey.id, name: passkey.name },
        })
        s.print(`removed passkey ${passkey.name} (${passkey.id}) of ${user.username}`)
      },
    })
    // An administrator with a passkey can sign in while every identity provider is down.
    ctx.adminAccess(async (s) => s.users.anyWithRole((await new PasskeyStore(s).counts()).keys(), s.adminRoles))
  },
})
