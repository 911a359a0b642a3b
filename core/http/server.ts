import { H3, type H3Event } from 'h3'
import type { Metrics } from '../observability/metrics.ts'
import { guarded, page, type Handler, type HttpContext } from './http-context.ts'
import { listAudit, listSessions, listUsers, pluginRoute } from './routes/admin.ts'
import {
  auditPage,
  consoleHome,
  providerPage,
  providersPage,
  sectionChange,
  sessionEnd,
  sessionsPage,
  userChange,
  userPage,
  usersPage,
  wantsPage,
} from './routes/console.ts'
import { providerDelete, providerDeletePost, providerForm, providerFormPost } from './routes/provider-forms.ts'
import { callback } from './routes/callback.ts'
import { link } from './routes/link.ts'
import { healthz, readyz } from './routes/health.ts'
import { me } from './routes/me.ts'
import { verify } from './routes/verify.ts'
import { metricsRoute } from './routes/metrics.ts'
import { home, providerFormScript, signedOut, stylesheet } from './routes/pages.ts'
import { signInPage, signInSubmit } from './routes/sign-in.ts'
import { signOut } from './routes/sign-out.ts'

/** The HTTP application: the public routes of ARCHITECTURE.md section 4, and the pages. */
export function createHttpApp(ctx: HttpContext): H3 {
  const app = new H3({
    onError(error) {
      // Only reached by errors outside the guarded routes (h3's own, for example a malformed URL).
      const status = error.status >= 400 && error.status < 500 ? error.status : 500
      if (status >= 500) ctx.logger.error({ err: error }, 'request failed')
      return page(
        ctx,
        'error',
        {
          title: status === 404 ? 'Page not found' : 'Bad request',
          message: status === 404 ? 'There is nothing at this address.' : 'The request could not be handled.',
        },
        { status },
      )
    },
  })
  app.get('/', home(ctx))
  app.get('/auth/sign-in', signInPage(ctx))
  app.post('/auth/sign-in', signInSubmit(ctx))
  app.get('/auth/callback', callback(ctx))
  app.post('/auth/callback', callback(ctx))
  app.post('/auth/sign-out', signOut(ctx))
  app.get('/auth/signed-out', signedOut(ctx))
  app.post('/auth/link', link(ctx))
  app.get('/auth/me', me(ctx))
  // Any method: a proxy may pass the original request's (nginx's auth_request can send a POST's method).
  app.all('/auth/verify', verify(ctx))
  app.get('/auth/static/style.css', stylesheet(ctx))
  app.get('/auth/static/provider-form.js', providerFormScript(ctx))
  // The console's pages for browsers; the same paths answer JSON to everyone else.
  const negotiated = (pageFor: (c: HttpContext, e: H3Event) => Promise<Response>, json: Handler): Handler => {
    const html = guarded(ctx, 'console', (event) => pageFor(ctx, event))
    return (event) => (wantsPage(event) ? html(event) : json(event))
  }
  app.get('/admin', consoleHome(ctx))
  app.get('/admin/users', negotiated(usersPage, listUsers(ctx)))
  app.get('/admin/users/:username', userPage(ctx))
  app.post('/admin/users/:username', userChange(ctx))
  app.post('/admin/users/:username/sections/:name', sectionChange(ctx))
  app.get('/admin/sessions', negotiated(sessionsPage, listSessions(ctx)))
  app.post('/admin/sessions', sessionEnd(ctx))
  app.get('/admin/providers', providersPage(ctx))
  app.get('/admin/providers/new', providerForm(ctx, 'create'))
  app.post('/admin/providers/new', providerFormPost(ctx, 'create'))
  app.get('/admin/providers/:name', providerPage(ctx))
  app.get('/admin/providers/:name/edit', providerForm(ctx, 'edit'))
  app.post('/admin/providers/:name/edit', providerFormPost(ctx, 'edit'))
  app.get('/admin/providers/:name/delete', providerDelete(ctx))
  app.post('/admin/providers/:name/delete', providerDeletePost(ctx))
  app.get('/admin/audit', negotiated(auditPage, listAudit(ctx)))
  for (const spec of ctx.routes) app.on(spec.method, spec.path, pluginRoute(ctx, spec))
  app.get(
    '/favicon.ico',
    () => new Response(null, { status: 204, headers: { 'cache-control': 'public, max-age=86400' } }),
  )
  if (ctx.metrics && ctx.metricsOnPublicListener) app.get('/metrics', metricsRoute(ctx.metrics, ctx.metricsToken))
  app.get('/healthz', healthz())
  app.get('/readyz', readyz(ctx))
  app.all('/**', () =>
    page(ctx, 'error', { title: 'Page not found', message: 'There is nothing at this address.' }, { status: 404 }),
  )
  return app
}

/** The metrics on a listener of their own (`metrics.port`): `/metrics` and nothing else. */
export function createMetricsApp(metrics: Metrics, token: string | undefined): H3 {
  const app = new H3()
  app.get('/metrics', metricsRoute(metrics, token))
  app.all('/**', () => new Response('not found\n', { status: 404 }))
  return app
}
