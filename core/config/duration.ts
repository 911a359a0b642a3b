import ms, { type StringValue } from 'ms'

/**
 * A duration in configuration: a whole number of seconds, or a string such as
 * `"30m"`, `"10h"`, `"7d"`, `"90s"` (the `ms` package's syntax).
 */
export type Duration = number | string

/** Parses a {@link Duration} to seconds; throws with a readable reason. */
export function durationToSeconds(value: Duration): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) throw new Error('must be a positive whole number of seconds')
    return value
  }
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return durationToSeconds(Number(value.trim()))
  const parsed = typeof value === 'string' ? ms(value as StringValue) : Number.NaN
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 1000) {
    throw new Error('must be a duration such as 3600, "30m", "10h" or "7d" (at least one second)')
  }
  return Math.round(parsed / 1000)
}
