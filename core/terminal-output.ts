import { printable } from './identity/username.ts'

/**
 * Makes everything this process writes to its terminal streams safe to show:
 * control characters (C0 but tab and newline, DEL, C1) and bidi overrides
 * from stored values (a username, a certificate subject, a claim) become
 * U+FFFD, so they cannot move the cursor, retitle the terminal or reorder text.
 * For the `otpki` commands; logs (pino) write JSON, which escapes them.
 */
export function sanitizeTerminalOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? printable(chunk) : chunk, ...rest)) as typeof stream.write
  }
}

/** JSON for the terminal: C1 controls and bidi overrides, which JSON leaves raw, written as \\u escapes. */
export function terminalJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
