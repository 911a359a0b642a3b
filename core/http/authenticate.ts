import type { TLSSocket } from 'node:tls'
import type { H3Event } from 'h3'
import type { RequestAuthenticator, RequestInfo } from '../contracts/request-authenticator.ts'
import { statusOf } from './error-table.ts'
import { rateLimited } from './rate-limit.ts'
import { principalOf, type ActiveSession, type Principal } from '../sessions/session-service.ts'
import { nodeRequest } from './client-address.ts'
import { sessionCookie, type HttpContext } from './http-context.ts'

/** Who made a request, and how. */
export type Authenticated = { principal: Principal; session: ActiveSession | undefined }

/** The request authenticators whose credential this request carries (none, for most requests). */
export function carried(ctx: HttpContext, event: H3Event): readonly RequestAuthenticator[] {
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
      for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) values.push(raw[i + 1]!)
      return values
    },
    remoteAddress: req?.socket.remoteAddress,
    tls: socket?.encrypted === true ? socket : undefined,
  }
}

async function byRequestAuthenticators(
  event: H3Event,
  carriers: readonly RequestAuthenticator[],
): Promise<Authenticated | undefined> {
  const info = requestInfo(event)
  for (const authenticator of carriers) {
    const found = await authenticator.authenticate(info)
    if (found) return { principal: principalOf(found.user, found.method, found.provider ?? null), session: undefined }
  }
  return undefined
}

/**
 * Runs a credential check under the failed-attempt limit of the client's
 * address: an address out of budget gets 429 before anything is checked, and
 * every refusal (401) spends from its budget.
 */
async function countingFailures<T>(ctx: HttpContext, event: H3Event, check: () => Promise<T>): Promise<T> {
  const limiter = ctx.limits.failedAuth
  if (limiter.active) {
    const address = ctx.clientAddress(event)
    const wait = limiter.exhausted(address)
    if (wait !== undefined) throw rateLimited(limiter.name, address, wait)
  }
  try {
    return await check()
  } catch (error) {
    if (statusOf(error) === 401) limiter.take(ctx.clientAddress(event))
    throw error
  }
}

/**
 * Authenticates a request: a bearer access token, else a credential a request
 * authenticator recognises (a client certificate), else the session cookie.
 * Undefined when it carries none; throws (401) for a credential that is refused.
 */
export async function authenticate(ctx: HttpContext, event: H3Event): Promise<Authenticated | undefined> {
  const carriers = carried(ctx, event)
  if (carriers.length > 0) {
    const found = await countingFailures(ctx, event, () => byRequestAuthenticators(event, carriers))
    if (found) return found
  }
  const id = sessionCookie(ctx, event)
  const session = ctx.sessions.peek(id) ?? (await ctx.sessions.lookup(id))
  return session ? { principal: session.principal, session } : undefined
}
