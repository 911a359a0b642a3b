import { BlockList, isIP, isIPv6 } from 'node:net'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.ts'
import { OtpkiError } from '../errors.ts'

/**
 * Checks addresses or CIDRs from a configuration key (`10.0.0.0/8`, `::1`);
 * throws CONFIG_INVALID naming the key and the first entry that is neither.
 */
export function checkAddresses(entries: readonly string[], key: string): readonly string[] {
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/')
    const family = isIP(address ?? '')
    const max = family === 6 ? 128 : 32
    const prefixOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max)
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new OtpkiError(
        'CONFIG_INVALID',
        `${key}: ${JSON.stringify(entry.slice(0, 64))} is not an IP address or CIDR`,
      )
    }
  }
  return entries
}

/** Addresses or CIDRs (`10.0.0.0/8`, `::1`) as a list an address can be checked against; `key` names them in errors. */
export function addressList(
  entries: readonly string[],
  key = 'trustedProxies',
): (address: string | undefined) => boolean {
  const list = new BlockList()
  for (const entry of checkAddresses(entries, key)) {
    const [address, bits] = entry.split('/')
    const type = isIPv6(address!) ? 'ipv6' : 'ipv4'
    if (bits !== undefined) list.addSubnet(address!, Number(bits), type)
    else list.addAddress(address!, type)
  }
  // The answers by address: the peers of a deployment are few (its ingress, its balancer), and
  // BlockList.check builds a native address each time, on every request's path. Bounded.
  const answers = new Map<string, boolean>()
  return (address) => {
    if (!address) return false
    const known = answers.get(address)
    if (known !== undefined) return known
    const plain = unmapped(address)
    const answer = list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4')
    if (answers.size >= 4096) answers.clear()
    answers.set(address, answer)
    return answer
  }
}

/** `::ffff:10.0.0.1` is 10.0.0.1. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A token bucket per client address: `perMinute` requests a minute, in bursts
 * of up to `perMinute`. Buckets are kept in a bounded LRU, so a flood of
 * addresses costs bounded memory. `perMinute: 0` turns the limit off.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>
  private readonly perMs: number

  constructor(
    readonly name: string,
    private readonly perMinute: number,
    private readonly clock: Clock,
    maxAddresses = 100_000,
  ) {
    this.perMs = perMinute / 60_000
    this.buckets = new LRUCache({ max: maxAddresses })
  }

  /** Whether any address has spent from its budget lately (else nobody can be over it). */
  get active(): boolean {
    return this.perMinute > 0 && this.buckets.size > 0
  }

  /** Spends one request of `address`; seconds to wait when it has none left, else undefined. */
  take(address: string): number | undefined {
    if (this.perMinute === 0) return undefined
    const bucket = this.refill(address)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return undefined
    }
    return this.wait(bucket.tokens)
  }

  /** Seconds `address` must wait before its next request, without spending one; undefined when it may go on. */
  exhausted(address: string): number | undefined {
    if (!this.active) return undefined
    const bucket = this.buckets.get(address)
    if (!bucket) return undefined
    const tokens = this.tokensAt(bucket, this.clock.now())
    return tokens >= 1 ? undefined : this.wait(tokens)
  }

  /** Like {@link take}, throwing `RATE_LIMITED` (429 with Retry-After) when `address` has no request left. */
  spend(address: string): void {
    const wait = this.take(address)
    if (wait !== undefined) throw rateLimited(this.name, address, wait)
  }

  private refill(address: string): Bucket {
    const now = this.clock.now()
    let bucket = this.buckets.get(address)
    if (!bucket) {
      bucket = { tokens: this.perMinute, at: now }
      this.buckets.set(address, bucket)
    } else {
      bucket.tokens = this.tokensAt(bucket, now)
      bucket.at = now
    }
    return bucket
  }

  /** What a bucket holds at `now`: refilled at the limit's rate, never past a minute's worth. */
  private tokensAt(bucket: Bucket, now: number): number {
    return Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs)
  }

  /** Seconds until one request is in the bucket again. */
  private wait(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000))
  }
}

/** The refusal of a request over a rate limit: 429 with Retry-After. */
export function rateLimited(limit: string, address: string, retryAfter: number): OtpkiError {
  return new OtpkiError('RATE_LIMITED', `${limit} rate limit reached for ${address}; retry after ${retryAfter} s`, {
    retryAfter,
    publicMessage: `Too many requests from your address. Please try again in ${retryAfter} seconds.`,
  })
}
