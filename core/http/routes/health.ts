import type { Handler, HttpContext } from '../http-context.ts'
import { jsonResponse } from '../respond.ts'

/** `GET /healthz`: the process is up. */
export function healthz(): Handler {
  return () => jsonResponse({ status: 'ok' })
}

/** `GET /readyz`: the database answers; each provider's availability is reported. */
export function readyz(ctx: HttpContext): Handler {
  return async () => {
    let database = 'ok'
    try {
      await ctx.orm.em.fork().getConnection().execute('select 1')
    } catch {
      database = 'unavailable'
    }
    const providers = Object.fromEntries(
      ctx.registry.list().map((e) => {
        const status = e.status()
        return [e.definition.name, { state: status.state, ...(status.error ? { error: status.error } : {}) }]
      }),
    )
    // Files the last reload refused (the last good version of each, if any, stays in force).
    const rejected = (ctx.registry.lastReport()?.issues ?? []).map((i) => ({
      file: i.file,
      ...(i.key ? { key: i.key } : {}),
      reason: i.reason,
    }))
    const ready = database === 'ok'
    return jsonResponse(
      { status: ready ? 'ready' : 'not ready', database, providers, ...(rejected.length > 0 ? { rejected } : {}) },
      { status: ready ? 200 : 503 },
    )
  }
}
