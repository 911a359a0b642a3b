import { claimStrings, definePlugin, field, readClaim, type FlowStep } from '../../core/index.ts'

/**
 * `{ type: 'require-claim', claim, values | pattern, message? }`: the sign-in
 * goes on only when the claim (or one of its elements) is one of `values` or
 * matches `pattern` (whole value). For example, allowed email domains:
 * `{ claim: 'email', pattern: '.+@(example\\.com|example\\.org)' }`, or a group.
 */
export const requireClaim: FlowStep<{ claim: string; values?: string[]; pattern?: string; message?: string }> = {
  name: 'require-claim',
  optionsSchema: {
    claim: field.string({ doc: 'Claim path to test.', required: true }),
    values: field.stringArray({ doc: 'Accepted values.' }),
    pattern: field.string({ doc: 'Or a regular expression an accepted value matches whole.' }),
    message: field.string({ doc: 'Shown to a refused user.' }),
  },
  run({ claims }, { claim, values, pattern, message }) {
    const regex = pattern !== undefined ? new RegExp(`^(?:${pattern})$`) : undefined
    const have = claimStrings(readClaim(claims, claim)) ?? []
    const ok = have.some((v) => (values?.includes(v) ?? false) || (regex?.test(v) ?? false))
    return ok
      ? { action: 'allow' }
      : {
          action: 'deny',
          message: message ?? 'Your account is not allowed to sign in to OTPKI. Please contact an administrator.',
        }
  },
}

/** `{ type: 'require-verified-email' }`: the sign-in goes on only with a verified email (see `trustEmail`). */
export const requireVerifiedEmail: FlowStep<{ message?: string }> = {
  name: 'require-verified-email',
  optionsSchema: { message: field.string({ doc: 'Shown to a refused user.' }) },
  run({ identity }, { message }) {
    return identity.email && identity.emailVerified
      ? { action: 'allow' }
      : {
          action: 'deny',
          message:
            message ??
            'OTPKI needs a verified email address. Please verify your email at your identity provider and try again.',
        }
  },
}

/** The built-in flow steps. */
export default definePlugin({
  name: 'flows',
  kind: 'flow-step',
  register(ctx) {
    ctx.registerFlowStep(requireClaim)
    ctx.registerFlowStep(requireVerifiedEmail)
  },
})
