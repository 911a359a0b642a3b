import type { JWTPayload } from 'jose'

/**
 * Refuses a token whose time claims say it was issued, becomes valid or was
 * authenticated in the future, beyond `toleranceSeconds` (the provider's
 * `clockTolerance`). Each claim, when present, must be a number.
 */
export function checkTimingClaims(payload: JWTPayload, nowMs: number, toleranceSeconds: number): void {
  const now = Math.floor(nowMs / 1000)
  for (const claim of ['iat', 'nbf', 'auth_time'] as const) {
    const value = payload[claim]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${claim} is not a number`)
    if (value > now + toleranceSeconds) {
      throw new Error(`${claim} lies ${value - now} s in the future (clock tolerance ${toleranceSeconds} s)`)
    }
  }
  if (payload.exp !== undefined && (typeof payload.exp !== 'number' || payload.exp <= now - toleranceSeconds))
    throw new Error('exp is not a number or lies in the past')
}
