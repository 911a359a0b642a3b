import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../core/clock.ts'
import { RateLimiter, checkAddresses } from '../../../core/http/rate-limit.ts'

describe('rate limiter', () => {
  it('spends a minute’s budget in a burst, says when to come back, and refills at its rate', () => {
    const clock = new ManualClock(0)
    const limiter = new RateLimiter('test', 2, clock)
    expect(limiter.take('a')).toBeUndefined()
    expect(limiter.take('a')).toBeUndefined()
    expect(limiter.take('a')).toBe(30)
    expect(limiter.exhausted('a')).toBe(30)
    expect(limiter.take('b')).toBeUndefined()
    clock.advance(29_000)
    expect(limiter.exhausted('a')).toBe(1)
    clock.advance(1_000)
    expect(limiter.exhausted('a')).toBeUndefined()
    expect(limiter.take('a')).toBeUndefined()
    expect(() => limiter.spend('a')).toThrow(/test rate limit reached for a; retry after 30 s/)
  })

  it('0 a minute is no limit', () => {
    const limiter = new RateLimiter('off', 0, new ManualClock(0))
    for (let i = 0; i < 1000; i++) expect(limiter.take('a')).toBeUndefined()
    expect(limiter.active).toBe(false)
  })

  it('accepts addresses and CIDRs, and names the key and entry of anything else', () => {
    expect(checkAddresses(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'], 'k')).toHaveLength(4)
    for (const bad of ['10.0.0.0/33', '999.1.1.1', 'localhost', '::1/129', '10.0.0.1/8/8', '10.0.0.0/x'])
      expect(() => checkAddresses([bad], 'rateLimit.trustedProxies'), bad).toThrow(
        /^rateLimit\.trustedProxies: ".*" is not an IP address or CIDR$/,
      )
  })
})
