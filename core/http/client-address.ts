import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { H3Event } from 'h3'
import { unmapped } from './rate-limit.ts'

/** The Node request behind an h3 event (the TCP socket, raw headers). */
export function nodeRequest(event: H3Event): IncomingMessage | undefined {
  return (event.req as unknown as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req
}

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy; then
 * the right-most X-Forwarded-For entry that is not itself a trusted proxy (the
 * left part of that header is whatever the client wrote, and is never read).
 */
export function clientAddress(event: H3Event, trusted: (address: string) => boolean): string {
  const peer = unmapped(nodeRequest(event)?.socket.remoteAddress ?? 'unknown')
  if (!trusted(peer)) return peer
  const forwarded = event.req.headers.get('x-forwarded-for')
  if (!forwarded) return peer
  const hops = forwarded.split(',').map((hop) => unmapped(hop.trim()))
  for (let i = hops.length - 1; i >= 0; i--) {
    if (isIP(hops[i]!) === 0) return peer
    if (!trusted(hops[i]!)) return hops[i]!
  }
  return hops[0]!
}
