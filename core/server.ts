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
    const failed = (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE'
          ? 'is already in use (another OTPKI, or another program?)'
          : error.code === 'EACCES'
            ? 'needs privileges this process does not have'
            : error.message
      reject(new OtpkiError('CONFIG_INVALID', `cannot listen on ${host}:${port}: the port ${reason}`, { cause: error }))
    }
    server.once('error', failed)
    server.listen(port, host, () => {
      server.off('error', failed)
      server.on('error', (error) => logger.error({ err: error, port }, 'listener error'))
      resolve()
    })
  })
}

/** Stops accepting connections; idle ones close now, the rest within 5 s. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
    setTimeout(() => server.closeAllConnections(), 5_000).unref()
  })
}
