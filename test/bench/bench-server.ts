/**
 * One server of `npm run bench`, in a process of its own so that it can be
 * pinned to a core and its CPU time read from /proc. `BENCH_SPEC` (JSON) says
 * which: a bare h3 handler answering a fixed `/auth/me` body, or OTPKI started
 * as `otpki start` starts it, with the given settings. The driver talks to it
 * over the IPC channel.
 */
import { createServer } from 'node:http'
import { H3, toNodeHandler } from 'h3'

export type BenchServerSpec =
  | { mode: 'bare'; port: number; body: unknown }
  | { mode: 'otpki'; overrides: Record<string, unknown> }

/** Asks an OTPKI bench server for `count` more sessions of `username`; answers their cookie values. */
export interface SessionsRequest {
  cmd: 'sessions'
  username: string
  count: number
}

const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as BenchServerSpec
const send = (message: unknown) => process.send?.(message)

if (spec.mode === 'bare') {
  const app = new H3()
  app.get('/auth/me', () => spec.body)
  app.get('/healthz', () => ({ status: 'ok' }))
  const server = createServer(toNodeHandler(app))
  server.listen(spec.port, '127.0.0.1', () => send({ ready: true }))
  process.on('SIGTERM', () => process.exit(0))
} else {
  const { startApp } = await import('../../core/app.ts')
  const app = await startApp({ configFile: false, env: {}, overrides: spec.overrides })
  process.on('message', (message: SessionsRequest) => {
    void (async () => {
      const user = await app.users.requireUser(message.username)
      const em = app.orm.em.fork()
      const cookies: string[] = []
      for (let i = 0; i < message.count; i++) {
        const { id } = await app.sessions.create({
          user,
          method: 'oidc',
          provider: 'dev',
          maxInactive: 3600,
          maxLength: 36_000,
          em,
        })
        cookies.push(id)
      }
      await em.flush()
      send({ cookies })
    })().catch((error: unknown) => send({ error: String(error) }))
  })
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
  send({ ready: true })
}
