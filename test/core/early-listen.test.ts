import { mkdtemp } from 'node:fs/promises'
import { request } from 'node:http'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { boot } from '../../core/boot.ts'
import { freePort, POSTGRES_SECRETS } from '../support/harness.ts'
import { freshPostgres, needsPostgres } from '../support/postgres.ts'

/**
 * A TCP relay to PostgreSQL that holds every connection until it is released
 * (or refuses them all): the start is stopped at the point where the database opens.
 */
class HeldDatabase {
  private held: Socket[] = []
  private released = false
  private refused = false
  private firstConnection!: () => void
  /** Resolves when OTPKI first connects: by then it has read its configuration and listens. */
  readonly connected = new Promise<void>((resolve) => {
    this.firstConnection = resolve
  })
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<HeldDatabase> {
    let relay: HeldDatabase | undefined
    const server = createServer((socket) => relay!.accept(socket, target))
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    )
    relay = new HeldDatabase(server, port)
    return relay
  }

  private accept(socket: Socket, target: { host: string; port: number }): void {
    this.firstConnection()
    if (this.refused) socket.destroy()
    else if (this.released) this.pipe(socket, target)
    else this.held.push(socket)
    this.target = target
  }

  private target: { host: string; port: number } | undefined

  private pipe(socket: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host)
    socket.pipe(upstream).pipe(socket)
    const end = () => {
      socket.destroy()
      upstream.destroy()
    }
    socket.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  }

  release(): void {
    this.released = true
    for (const socket of this.held.splice(0)) this.pipe(socket, this.target!)
  }

  refuse(): void {
    this.refused = true
    for (const socket of this.held.splice(0)) socket.destroy()
  }

  close(): Promise<void> {
    this.refuse()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A GET whose request has left this process once `sent` resolves; `answer` is the response. */
function get(url: string): {
  sent: Promise<void>
  answer: Promise<{ status: number; headers: Record<string, unknown>; body: string }>
} {
  let sent!: () => void
  const written = new Promise<void>((resolve) => {
    sent = resolve
  })
  const answer = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.on('finish', sent)
    req.end()
  })
  return { sent: written, answer }
}

async function holdingStart() {
  const database = await freshPostgres()
  cleanups.push(() => database.drop())
  const url = new URL(database.url)
  const relay = await HeldDatabase.start({ host: url.hostname, port: Number(url.port || 5432) })
  cleanups.push(() => relay.close())
  url.host = `127.0.0.1:${relay.port}`
  const port = await freePort()
  const booting = boot({
    configFile: false,
    env: {},
    watch: false,
    overrides: {
      database: url.href,
      host: '127.0.0.1',
      port,
      publicUrl: `http://127.0.0.1:${port}`,
      logLevel: 'silent',
      providersDir: await mkdtemp(join(tmpdir(), 'otpki-early-')),
      ...POSTGRES_SECRETS,
    },
  })
  return { relay, booting, base: `http://127.0.0.1:${port}` }
}

/**
 * `otpki start` listens before it loads the ORM and opens the database:
 * liveness answers at once, every other request waits for the application.
 */
describe('listening while the application starts', () => {
  it('/healthz answers at once; /readyz and other requests wait and are served once the database is open', async () => {
    if (!needsPostgres()) return
    const { relay, booting, base } = await holdingStart()
    await relay.connected
    // The database is unreachable now: nothing but liveness can be answered yet.
    const live = await fetch(`${base}/healthz`)
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'ok' })
    const ready = get(`${base}/readyz`)
    const me = get(`${base}/auth/me`)
    await Promise.all([ready.sent, me.sent])
    // Answered after both requests were sent: the server has read them while the database is still held.
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    relay.release()
    const app = await booting
    cleanups.push(() => app.close())
    // Had they been answered before the database was open, /readyz would be 503.
    expect((await ready.answer).status).toBe(200)
    const meResponse = await me.answer
    expect(meResponse.status).toBe(401)
    expect(JSON.parse(meResponse.body)).toMatchObject({ error: 'unauthenticated' })
  })

  it('a start that fails answers the waiting requests 503 and frees the port', async () => {
    if (!needsPostgres()) return
    const { relay, booting, base } = await holdingStart()
    await relay.connected
    const waiting = get(`${base}/auth/me`)
    await waiting.sent
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    relay.refuse()
    await expect(booting).rejects.toThrow(/cannot open the database/)
    const answer = await waiting.answer
    expect(answer.status).toBe(503)
    expect(answer.headers['retry-after']).toBe('1')
    await expect(fetch(`${base}/healthz`)).rejects.toThrow()
  })
})
