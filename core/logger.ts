import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/** Paths that may hold secrets; pino replaces them before anything is written. */
const REDACT = [
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'idToken',
  '*.idToken',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'cookie',
  '*.cookie',
  'headers.cookie',
  'headers.authorization',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { name: 'otpki' }, redact: { paths: REDACT, censor: '[redacted]' } },
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
