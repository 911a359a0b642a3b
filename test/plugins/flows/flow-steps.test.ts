import { describe, expect, it } from 'vitest'
import { requireClaim, requireVerifiedEmail } from '../../../plugins/flows/index.ts'
import { runFlowStep, testProvider } from '../../../testing/index.ts'

describe('built-in flow steps', () => {
  it('require-claim: allowed email domains', async () => {
    const options = { claim: 'email', pattern: '.+@(example\\.com|example\\.org)', message: 'Only company accounts.' }
    expect(await runFlowStep(requireClaim, options, { email: 'a@example.org' })).toEqual({ action: 'allow' })
    expect(await runFlowStep(requireClaim, options, { email: 'a@example.org.evil.test' })).toEqual({
      action: 'deny',
      message: 'Only company accounts.',
    })
    expect(await runFlowStep(requireClaim, options, {})).toMatchObject({ action: 'deny' })
  })

  it('require-claim: membership of a group', async () => {
    expect(await runFlowStep(requireClaim, { claim: 'groups', values: ['pki'] }, { groups: ['staff', 'pki'] })).toEqual(
      { action: 'allow' },
    )
    expect(await runFlowStep(requireClaim, { claim: 'groups', values: ['pki'] }, { groups: ['staff'] })).toMatchObject({
      action: 'deny',
    })
  })

  it('require-verified-email: email_verified, or a trustEmail provider', async () => {
    expect(await runFlowStep(requireVerifiedEmail, {}, { email: 'a@b.c', email_verified: true })).toEqual({
      action: 'allow',
    })
    expect(await runFlowStep(requireVerifiedEmail, {}, { email: 'a@b.c', email_verified: false })).toMatchObject({
      action: 'deny',
    })
    expect(
      await runFlowStep(requireVerifiedEmail, {}, { email: 'a@b.c' }, { provider: testProvider({ trustEmail: true }) }),
    ).toEqual({ action: 'allow' })
  })
})
