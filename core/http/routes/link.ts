import { OtpkiError } from '../../errors.ts'
import { guarded, sessionCookie, type Handler, type HttpContext } from '../http-context.ts'
import { readForm } from '../body.ts'
import { startAt } from './sign-in.ts'

/**
 * `POST /auth/link` (form: provider, csrf): the signed-in user runs the flow
 * at a provider to attach that identity to their own account.
 */
export function link(ctx: HttpContext): Handler {
  return guarded(ctx, 'link', async (event) => {
    const form = await readForm(event)
    const session = await ctx.sessions.lookup(sessionCookie(ctx, event))
    if (!session)
      throw new OtpkiError('SESSION_INVALID', 'link without a session', { publicMessage: 'Please sign in first.' })
    if (!ctx.csrf.verify(form.get('csrf'), session.idHash, 'link')) {
      throw new OtpkiError('CSRF_INVALID', 'link without a valid CSRF token', {
        publicMessage: 'This form has expired. Please reload the page and try again.',
      })
    }
    return startAt(ctx, event, form.get('provider') ?? '', '/', {
      purpose: 'link',
      linkUserId: session.principal.user.id,
    })
  })
}
