import type { TLSSocket } from 'node:tls'
import type { H3Event } from 'h3'
import type { RequestAuthenticator, RequestInfo, RequestPrincipal } from '../contracts/request-authenticator.ts'
import { statusOf } from './error-table.ts'
import { rateLimited } from './rate-limit.ts'
import { principalOf, type ActiveSession, type Principal } from '../sessions/session-service.ts'
import { nodeRequest } from './client-address.ts'
import { sessionCookie, type HttpContext } from './http-context.ts'

/** Who made a request, and how. */
export type Authenticated = { principal: Principal; session: ActiveSession | undefined }

/** The request authenticators whose credential this request carries (none, for most requests). */
function carried(ctx: HttpContext, event: H3Event): readonly RequestAuthenticator[] {
  const list = ctx.requestAuthenticators
  if (list.length === 0) return NONE
  const probe = new Probe(event)
  let found: RequestAuthenticator[] | undefined
  for (const authenticator of list) {
    if (!authenticator.carries(probe)) continue
    found ??= []
    found.push(authenticator)
  }
  return found ?? NONE
}

const NONE: readonly RequestAuthenticator[] = []

/** What `carries` sees; the socket is looked at only when an authenticator asks (most requests carry no credential). */
class Probe {
  readonly headers: Headers
  constructor(private readonly event: H3Event) {
    this.headers = event.req.headers
  }
  get tls(): boolean {
    return (nodeRequest(this.event)?.socket as { encrypted?: boolean } | undefined)?.encrypted === true
  }
}

/** The request as a request authenticator sees it: headers as received, the TCP peer, the TLS socket. */
export function requestInfo(event: H3Event): RequestInfo {
  const req = nodeRequest(event)
  const socket = req?.socket as TLSSocket | undefined
  return {
    headers: event.req.headers,
    headerValues(name) {
      const raw = req?.rawHeaders ?? []
      const lower = name.toLowerCase()
      const values: string[] = []
      for (let i = 0; i < raw.length; i += 2) {
        const header = raw[i]!
        if (header.length === lower.length && header.toLowerCase() === lower) values.push(raw[i + 1]!)
      }
      return values
    },
    remoteAddress: req?.socket.remoteAddress,
    tls: socket?.encrypted === true ? socket : undefined,
  }
}

/** One principal per credential answer object: an authenticator that caches its answer keeps the JSON of `/auth/me` cached too. */
const principals = new WeakMap<RequestPrincipal, Principal>()
function principalFor(found: RequestPrincipal): Principal {
  let principal = principals.get(found)
  if (!principal) {
    principal = principalOf(found.user, found.method, found.provider ?? null)
    principals.set(found, principal)
  }
  return principal
}

/** A refusal (401) spends from the failed-attempt budget of the client's address. */
function countFailure(ctx: HttpContext, event: H3Event, error: unknown): never {
  if (statusOf(error) === 401) ctx.limits.failedAuth.take(ctx.clientAddress(event))
  throw error
}

/**
 * Asks the carriers in order, from `index`; then the session cookie. An
 * authenticator that answers from its cache answers synchronously, and so
 * does this.
 */
function fromCarriers(
  ctx: HttpContext,
  event: H3Event,
  info: RequestInfo,
  carriers: readonly RequestAuthenticator[],
  index: number,
): Authenticated | undefined | Promise<Authenticated | undefined> {
  for (let i = index; i < carriers.length; i++) {
    let found: ReturnType<RequestAuthenticator['authenticate']>
    try {
      found = carriers[i]!.authenticate(info)
    } catch (error) {
      countFailure(ctx, event, error)
    }
    if (found instanceof Promise)
      return found.then(
        (answer) =>
          answer
            ? { principal: principalFor(answer), session: undefined }
            : fromCarriers(ctx, event, info, carriers, i + 1),
        (error: unknown) => countFailure(ctx, event, error),
      )
    if (found) return { principal: principalFor(found), session: undefined }
  }
  return bySession(ctx, event)
}

function bySession(ctx: HttpContext, event: H3Event): Authenticated | undefined | Promise<Authenticated | undefined> {
  const id = sessionCookie(ctx, event)
  const hit = ctx.sessions.peek(id)
  if (hit) return { principal: hit.principal, session: hit }
  return ctx.sessions.lookup(id).then((session) => (session ? { principal: session.principal, session } : undefined))
}

/**
 * Authenticates a request: a credential a request authenticator recognises
 * (a bearer token, a client certificate), else the session cookie. Undefined
 * when it carries none; throws (401) for a credential that is refused. An
 * address out of its failed-attempt budget gets 429 before anything is
 * checked. Answers synchronously when every cache on the way can.
 */
export function authenticate(
  ctx: HttpContext,
  event: H3Event,
): Authenticated | undefined | Promise<Authenticated | undefined> {
  const carriers = carried(ctx, event)
  if (carriers.length === 0) return bySession(ctx, event)
  const limiter = ctx.limits.failedAuth
  if (limiter.active) {
    const address = ctx.clientAddress(event)
    const wait = limiter.exhausted(address)
    if (wait !== undefined) throw rateLimited(limiter.name, address, wait)
  }
  return fromCarriers(ctx, event, requestInfo(event), carriers, 0)
}
