import { randomBytes } from 'node:crypto'
import { getCookie, getQuery, type H3Event } from 'h3'
import { readForm } from '../body.ts'
import { EXPIRED_GRACE_MS } from '../../sessions/transaction-store.ts'
import { OtpkiError } from '../../errors.ts'
import type { ProviderEntry } from '../../config/provider-registry.ts'
import { guarded, page, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import type { ActiveSession } from '../../sessions/session-service.ts'
import { redirectResponse, type Cookie } from '../respond.ts'
import { safeReturnTo } from '../return-to.ts'

/** Providers offered on the sign-in page: enabled, not hidden, in display order. */
export function visibleProviders(ctx: HttpContext): ProviderEntry[] {
  return ctx.registry
    .list()
    .filter((e) => e.definition.enabled && !e.definition.hideOnLoginPage && !e.definition.accountLinkingOnly)
}

/** The browser's CSRF binding for the sign-in form: the cookie's value, made when missing. */
function csrfBinding(ctx: HttpContext, event: H3Event): { binding: string; cookie?: Cookie } {
  const existing = getCookie(event, ctx.cookies.csrf)
  if (existing && /^[\w-]{22,64}$/.test(existing)) return { binding: existing }
  const binding = randomBytes(24).toString('base64url')
  return { binding, cookie: ctx.cookies.set(ctx.cookies.csrf, binding) }
}

/** Renders the sign-in page; `notice` is shown above the providers. */
export function renderSignIn(
  ctx: HttpContext,
  event: H3Event,
  options: { returnTo: string; notice?: string; status?: number; signedIn?: ActiveSession | undefined },
): Response {
  const { binding, cookie } = csrfBinding(ctx, event)
  const offered = visibleProviders(ctx).map((e) => {
    const available = e.status().state !== 'unavailable'
    // An unavailable provider cannot be chosen; showing the page tries it again (after its back-off).
    if (!available) void e.context().catch(() => undefined)
    return {
      name: e.definition.name,
      displayName: e.definition.displayName,
      available,
      icon: e.definition.icon?.dataUrl,
      ownButton: e.method.ownButton === true,
    }
  })
  // Methods with a button of their own (a passkey) stand beside the identity providers' list.
  const providers = offered.filter((p) => !p.ownButton)
  const buttons = offered.filter((p) => p.ownButton)
  const signedIn = options.signedIn
  return page(
    ctx,
    'sign-in',
    {
      providers,
      buttons,
      anyAvailable: providers.some((p) => p.available),
      csrfToken: ctx.csrf.token(binding, 'sign-in'),
      returnTo: options.returnTo,
      notice: options.notice,
      signedIn: signedIn
        ? {
            username: signedIn.principal.user.username,
            signOutCsrf: ctx.csrf.token(signedIn.idHash, 'sign-out'),
          }
        : undefined,
    },
    { status: options.status ?? 200, ...(cookie ? { cookies: [cookie] } : {}) },
  )
}

export interface StartOptions {
  purpose?: 'sign-in' | 'link'
  linkUserId?: number
  prompt?: 'none'
}

/** returnTo with an `error` parameter, for silent (prompt=none) sign-ins. */
export function returnWithError(ctx: HttpContext, returnTo: string, error: string): Response {
  const url = new URL(returnTo, ctx.publicUrl)
  url.searchParams.set('error', error)
  return redirectResponse(url.pathname + url.search + url.hash)
}

/** Starts the flow at a provider: a transaction, its cookie, and a 303 to the provider. */
export async function startAt(
  ctx: HttpContext,
  event: H3Event,
  name: string,
  returnTo: string,
  options: StartOptions = {},
): Promise<Response> {
  ctx.limits.signIn.spend(ctx.clientAddress(event))
  const entry = ctx.registry.get(name)
  if (!entry?.definition.enabled) {
    throw new OtpkiError('PROVIDER_UNKNOWN', `no enabled provider named ${JSON.stringify(name.slice(0, 64))}`, {
      publicMessage: 'This sign-in option does not exist. Please choose another one.',
    })
  }
  const { method, definition } = entry
  const purpose = options.purpose ?? 'sign-in'
  if (purpose === 'sign-in' && definition.accountLinkingOnly) {
    throw new OtpkiError('LINKING_ONLY', `provider ${name} is accountLinkingOnly`, {
      publicMessage: `${definition.displayName} cannot be used to sign in; once signed in, you can link it to your account.`,
    })
  }
  if (options.prompt === 'none' && !method.forwardsSilentSignIn?.(definition))
    return returnWithError(ctx, returnTo, 'login_required')
  if (!method.start) throw new OtpkiError('PROVIDER_UNKNOWN', `provider ${name} has no interactive sign-in`)
  const context = await entry.context()
  const started = await method.start(context, definition, options.prompt ? { prompt: options.prompt } : {})
  const txId = await ctx.transactions.create(
    {
      provider: definition.name,
      issuer: definition.issuer,
      generation: entry.generation,
      returnTo,
      data: started.data,
      purpose,
      linkUserId: options.linkUserId,
      prompt: options.prompt,
    },
    ctx.transactionTtl,
  )
  ctx.logger.debug({ provider: definition.name, purpose }, 'sign-in started')
  return redirectResponse(started.url.href, {
    // The cookie outlives the transaction by the grace period: a late callback is told it expired.
    cookies: [ctx.cookies.set(ctx.cookies.transaction, txId, ctx.transactionTtl + EXPIRED_GRACE_MS / 1000)],
  })
}

/** Where a sign-in may return to: a path of OTPKI's, or a URL of a host forward authentication allows. */
const returnToOf = (ctx: HttpContext, value: unknown) =>
  safeReturnTo(value, ctx.publicUrl, ctx.forwardAuth.allowedHosts)

/** `GET /auth/sign-in[?returnTo=&provider=&prompt=none]` */
export function signInPage(ctx: HttpContext): Handler {
  return guarded(ctx, 'sign-in', async (event) => {
    const query = getQuery<{ returnTo?: string; provider?: string; prompt?: string }>(event)
    const returnTo = returnToOf(ctx, query.returnTo)
    if (query.prompt === 'none') {
      // Silent re-authentication: never a page. Without a provider, the only one offered.
      const visible = visibleProviders(ctx)
      const name =
        typeof query.provider === 'string' && query.provider !== ''
          ? query.provider
          : visible.length === 1
            ? visible[0]!.definition.name
            : undefined
      if (!name || !ctx.registry.get(name)?.definition.enabled) return returnWithError(ctx, returnTo, 'login_required')
      return startAt(ctx, event, name, returnTo, { prompt: 'none' })
    }
    if (typeof query.provider === 'string' && query.provider !== '')
      return startAt(ctx, event, query.provider, returnTo)
    // A visitor who is signed in already may continue, or sign out (or sign in as someone else).
    const signedIn = await ctx.sessions.lookup(sessionCookie(ctx, event))
    return renderSignIn(ctx, event, { returnTo, signedIn })
  })
}

/** `POST /auth/sign-in` (form: provider, csrf, returnTo) */
export function signInSubmit(ctx: HttpContext): Handler {
  return guarded(ctx, 'sign-in', async (event) => {
    const form = await readForm(event)
    const binding = getCookie(event, ctx.cookies.csrf)
    if (!ctx.csrf.verify(form.get('csrf'), binding, 'sign-in')) {
      throw new OtpkiError('CSRF_INVALID', 'sign-in form without a valid CSRF token', {
        publicMessage: 'This sign-in form has expired. Please reload the page and try again.',
      })
    }
    const provider = form.get('provider')
    if (!provider)
      return renderSignIn(ctx, event, {
        returnTo: returnToOf(ctx, form.get('returnTo')),
        notice: 'Please choose how to sign in.',
        status: 400,
      })
    return startAt(ctx, event, provider, returnToOf(ctx, form.get('returnTo')))
  })
}
