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
  /** The development OpenID provider alone (the sign-in benchmark measures its CPU apart from OTPKI's). */
  | { mode: 'provider'; clients: { clientId: string; clientSecret: string; redirectUris: string[] }[] }

/** Asks an OTPKI bench server for `count` more sessions of `username`; answers their cookie values. */
export interface SessionsRequest {
  cmd: 'sessions'
  username: string
  count: number
}

/** Asks an OTPKI bench server to add `count` users (user-000001, ...) and an administrator `admin`. */
export interface UsersRequest {
  cmd: 'users'
  count: number
}

const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as BenchServerSpec
const send = (message: unknown) => process.send?.(message)

if (spec.mode === 'provider') {
  const { startDevProvider } = await import('../../plugins/dev-provider/dev-provider.ts')
  const provider = await startDevProvider({
    port: 0,
    clients: spec.clients.map((c) => ({ ...c, postLogoutRedirectUris: [] })),
  })
  process.on('SIGTERM', () => void provider.close().then(() => process.exit(0)))
  send({ ready: true, issuer: provider.issuer })
} else if (spec.mode === 'bare') {
  const app = new H3()
  app.get('/auth/me', () => spec.body)
  app.get('/healthz', () => ({ status: 'ok' }))
  const server = createServer(toNodeHandler(app))
  server.listen(spec.port, '127.0.0.1', () => send({ ready: true }))
  process.on('SIGTERM', () => process.exit(0))
} else {
  const { startApp } = await import('../../core/app.ts')
  const app = await startApp({ configFile: false, env: {}, overrides: spec.overrides })
  const { hashId, newId } = await import('../../core/sessions/ids.ts')
  process.on('message', (message: SessionsRequest | UsersRequest) => {
    if (message.cmd === 'users') {
      void (async () => {
        const knex = app.orm.em.getKnex()
        const now = Date.now()
        for (let i = 0; i < message.count; i += 100) {
          const rows = []
          for (let j = i; j < Math.min(message.count, i + 100); j++) {
            const name = `user-${String(j).padStart(6, '0')}`
            rows.push({
              username: name,
              username_key: name,
              email: `${name}@example.test`,
              email_verified: true,
              disabled: false,
              created_at: now,
              updated_at: now,
            })
          }
          await knex('users').insert(rows)
        }
        const [admin] = await knex('users')
          .insert({
            username: 'admin',
            username_key: 'admin',
            email_verified: true,
            disabled: false,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
        const [role] = await knex('roles').insert({ name: 'admin', system: false, created_at: now }).returning('id')
        await knex('user_roles').insert({
          user_id: (admin as { id: number }).id,
          role_id: (role as { id: number }).id,
          created_at: now,
        })
        send({ cookies: [] })
      })().catch((error: unknown) => send({ error: String(error).slice(0, 500) }))
      return
    }
    void (async () => {
      // Written straight into the table, a batch at a time: 100,000 sessions in seconds.
      const user = await app.users.requireUser(message.username)
      const knex = app.orm.em.getKnex()
      const cookies: string[] = []
      const now = Date.now()
      for (let i = 0; i < message.count; i += 500) {
        const rows = []
        for (let j = i; j < Math.min(message.count, i + 500); j++) {
          const id = newId()
          cookies.push(id)
          rows.push({
            id_hash: hashId(id),
            user_id: user.id,
            method: 'oidc',
            provider: 'dev',
            created_at: now,
            last_seen_at: now,
            expires_at: now + 36_000_000,
            max_inactive: 3600,
          })
        }
        await knex('sessions').insert(rows)
      }
      send({ cookies })
    })().catch((error: unknown) => send({ error: String(error).slice(0, 500) }))
  })
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
  send({ ready: true })
}
