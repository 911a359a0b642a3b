import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OtpkiError } from './errors.ts'
import type { Logger } from './logger.ts'

/** Where a server listens, as a URL (an IPv6 host in brackets). */
export function addressUrl(scheme: 'http' | 'https', host: string, server: Server): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`
}

/**
 * Listens; a failure to listen is one clear error (a port in use, say), and
 * errors after that are logged, never fatal.
 *
 * @example
 * ```ts
 * await listen(server, 8443, '0.0.0.0', logger)
 * ```
 */
export function listen(server: Server, port: number, host: string, logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenFailure(error, host, port))
    server.once('error', failed)
    server.listen(port, host, () => {
      server.off('error', failed)
      server.on('error', (error) => logger.error({ err: error, port }, 'listener error'))
      resolve()
    })
  })
}

/**
 * A failure to listen as one clear error: a port in use, or one that needs
 * privileges. `who` names the listener, `hint` says what to change.
 */
export function listenFailure(
  error: NodeJS.ErrnoException,
  host: string,
  port: number,
  context: { who?: string; hint?: string } = {},
): OtpkiError {
  const reason =
    error.code === 'EADDRINUSE'
      ? 'is already in use (another OTPKI, or another program?)'
      : error.code === 'EACCES'
        ? 'needs privileges this process does not have'
        : error.message
  const who = context.who ? `${context.who} cannot` : 'cannot'
  return new OtpkiError(
    'CONFIG_INVALID',
    `${who} listen on ${host}:${port}: the port ${reason}${context.hint ? `; ${context.hint}` : ''}`,
    { cause: error },
  )
}

/** Stops accepting connections; idle ones close now, the rest within 5 s. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
    setTimeout(() => server.closeAllConnections(), 5_000).unref()
  })
}
