import type { Claims } from '../contracts/provider.ts'

/**
 * One syntax for naming a claim everywhere (mappers, flow steps, `claims`):
 *
 * - `email`, `cognito:groups` — a top-level claim; colons need nothing special;
 * - `realm_access.roles` — a nested object, `.` between segments;
 * - `resource_access["otpki-web"].roles` — a segment in `["..."]` may hold dots, dashes, URLs;
 * - `["https://example.com/roles"]` — a top-level claim whose name is a URL (Auth0);
 * - `groups[0]` — an array element; `groups[*].name` — that field of every element.
 *
 * @example
 * ```ts
 * readClaim({ realm_access: { roles: ['admin'] } }, 'realm_access.roles') // ['admin']
 * ```
 */
export type ClaimPath = string

type Segment = { key: string } | { index: number } | { all: true }

const cache = new Map<string, Segment[]>()

/** Parses a claim path; throws with the position of a syntax error. */
export function parseClaimPath(path: ClaimPath): Segment[] {
  const cached = cache.get(path)
  if (cached) return cached
  const segments: Segment[] = []
  let i = 0
  const fail = (why: string): never => {
    throw new Error(`claim path ${JSON.stringify(path)}: ${why} at position ${i}`)
  }
  while (i < path.length) {
    if (path[i] === '[') {
      if (path.startsWith('[*]', i)) {
        segments.push({ all: true })
        i += 3
      } else if (path[i + 1] === '"') {
        const end = path.indexOf('"]', i + 2)
        if (end < 0) fail('unterminated ["...')
        segments.push({ key: path.slice(i + 2, end) })
        i = end + 2
      } else {
        const match = /^\[(\d+)\]/.exec(path.slice(i))
        if (!match) fail('expected ["name"], [index] or [*]')
        segments.push({ index: Number(match![1]) })
        i += match![0].length
      }
    } else {
      const match = /^[^.[\]"]+/.exec(path.slice(i))
      if (!match) fail('expected a claim name')
      segments.push({ key: match![0] })
      i += match![0].length
    }
    if (i < path.length) {
      if (path[i] === '.') {
        i += 1
        if (i === path.length) fail('a path cannot end with "."')
      } else if (path[i] !== '[') fail('expected "." or "["')
    }
  }
  if (segments.length === 0) fail('empty path')
  if (cache.size < 1000) cache.set(path, segments)
  return segments
}

/** The value at `path` in `claims`, or undefined. `[*]` collects from every element. */
export function readClaim(claims: Claims, path: ClaimPath): unknown {
  let values: unknown[] = [claims]
  let collected = false
  for (const segment of parseClaimPath(path)) {
    const next: unknown[] = []
    for (const value of values) {
      if ('all' in segment) {
        collected = true
        if (Array.isArray(value)) next.push(...value)
      } else if ('index' in segment) {
        if (Array.isArray(value) && segment.index < value.length) next.push(value[segment.index])
      } else if (
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.hasOwn(value, segment.key)
      ) {
        next.push((value as Record<string, unknown>)[segment.key])
      }
    }
    values = next
  }
  if (collected) return values.length > 0 ? values.flat() : undefined
  return values[0]
}

/** A claim as a list of strings: an array, or one string split on spaces or commas. */
export function claimStrings(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value.flat() : typeof value === 'string' ? value.split(/[\s,]+/) : [value]
  return [
    ...new Set(
      list
        .filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        .map((v) => String(v).trim())
        .filter(Boolean),
    ),
  ]
}
