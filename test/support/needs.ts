import { expect, it } from 'vitest'

/** Whether tests that need an external program must run (CI sets it: a skip then fails). */
export const REQUIRE_ALL = process.env.OTPKI_REQUIRE_ALL_TESTS === '1'

/**
 * For a describe block that needs an external program: when it is missing,
 * registers a skip that says how to install it (or, with
 * OTPKI_REQUIRE_ALL_TESTS=1, a failing test) and answers false.
 */
export function needs(program: string, present: boolean, install: string): boolean {
  if (present) return true
  if (REQUIRE_ALL)
    it(`needs ${program} (OTPKI_REQUIRE_ALL_TESTS=1)`, () => expect.fail(`${program} is not installed: ${install}`))
  else it.skip(`skipped: ${program} is not installed (${install} to run these tests)`, () => {})
  return false
}
