import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'
import type { AuditEntry } from '../audit/audit-log.ts'
import type { Clock } from '../clock.ts'
import type { ProviderRegistry } from '../config/provider-registry.ts'
import type { SessionService } from '../sessions/session-service.ts'
import type { Orm } from '../store/orm.ts'

const require = createRequire(import.meta.url)

/** The seconds buckets of the duration histograms: a request in microseconds to a sign-in in seconds. */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const SIGN_IN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface MetricsSources {
  readonly orm: Orm
  readonly clock: Clock
  readonly sessions: SessionService
  readonly registry: ProviderRegistry
}

/**
 * The Prometheus metrics of one instance (`GET /metrics`). Counters that the
 * hot path keeps as plain numbers (cache hits) are read when scraped, so a
 * request pays nothing for them.
 */
export class Metrics {
  readonly registry: PromClient.Registry
  private readonly signIns: PromClient.Counter<'provider' | 'method' | 'outcome'>
  private readonly signInSeconds: PromClient.Histogram<'provider'>
  private readonly requestSeconds = new RouteTimings(
    'otpki_http_request_duration_seconds',
    'Time to answer a request, by route.',
    REQUEST_BUCKETS,
  )
  private readonly reloads: PromClient.Counter<'result'>
  private readonly lastGoodReload: PromClient.Gauge
  private readonly lastReloadFailed: PromClient.Gauge

  constructor(sources: MetricsSources) {
    const prom = require('prom-client') as typeof PromClient
    const registry = new prom.Registry()
    this.registry = registry
    prom.collectDefaultMetrics({ register: registry, prefix: 'otpki_' })
    const { orm, clock, sessions } = sources
    this.signIns = new prom.Counter({
      name: 'otpki_sign_ins_total',
      help: 'Sign-ins by provider, method and outcome (success or failure).',
      labelNames: ['provider', 'method', 'outcome'],
      registers: [registry],
    })
    this.signInSeconds = new prom.Histogram({
      name: 'otpki_sign_in_duration_seconds',
      help: 'Time OTPKI takes to finish a sign-in at the callback (code exchange, user sync, session), by provider.',
      labelNames: ['provider'],
      buckets: SIGN_IN_BUCKETS,
      registers: [registry],
    })
    this.reloads = new prom.Counter({
      name: 'otpki_provider_reloads_total',
      help: 'Reloads of the provider files, by result: ok, or rejected when a file was refused (its last good definition stays).',
      labelNames: ['result'],
      registers: [registry],
    })
    this.lastGoodReload = new prom.Gauge({
      name: 'otpki_provider_last_good_reload_timestamp_seconds',
      help: 'When the provider files last reloaded with every file accepted (Unix time).',
      registers: [registry],
    })
    this.lastReloadFailed = new prom.Gauge({
      name: 'otpki_provider_last_reload_rejected',
      help: '1 when the last reload refused a provider file, else 0.',
      registers: [registry],
    })
    new prom.Gauge({
      name: 'otpki_active_sessions',
      help: 'Sessions not past their absolute end, on the database (every instance).',
      registers: [registry],
      async collect() {
        const [row] = await orm.em
          .getConnection()
          .execute<{ n: number | string }[]>('select count(*) as n from sessions where expires_at > ?', [clock.now()])
        this.set(Number(row?.n ?? 0))
      },
    })
    new prom.Gauge({
      name: 'otpki_session_cache_entries',
      help: "Sessions in this instance's cache.",
      registers: [registry],
      collect() {
        this.set(sessions.cached)
      },
    })
    const seen = { hits: 0, misses: 0 }
    new prom.Counter({
      name: 'otpki_session_cache_lookups_total',
      help: 'Session lookups, by result: hit (answered from the cache) or miss (read from the database).',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const { hits, misses } = sessions.stats
        this.inc({ result: 'hit' }, hits - seen.hits)
        this.inc({ result: 'miss' }, misses - seen.misses)
        seen.hits = hits
        seen.misses = misses
      },
    })
    const providers = sources.registry
    new prom.Gauge({
      name: 'otpki_provider_ready',
      help: 'Per provider: 1 when ready, 0 when unavailable or not yet prepared.',
      labelNames: ['provider'],
      registers: [registry],
      collect() {
        this.reset()
        for (const entry of providers.list())
          this.set({ provider: entry.definition.name }, entry.status().state === 'ready' ? 1 : 0)
      },
    })
    const providerCounter = (name: string, help: string, read: (c: ReturnType<ProviderCounterSource>) => number) =>
      new prom.Counter({
        name,
        help,
        labelNames: ['provider'],
        registers: [registry],
        collect() {
          // Counted by each provider's definition: a reload that replaces it starts again from 0.
          this.reset()
          for (const entry of providers.list()) this.inc({ provider: entry.definition.name }, read(entry.counters()))
        },
      })
    providerCounter(
      'otpki_provider_key_set_fetches_total',
      "Fetches of the provider's signing keys (JWKS) since its definition was loaded.",
      (c) => c.keySetFetches ?? 0,
    )
    providerCounter(
      'otpki_provider_key_set_fetch_errors_total',
      "Failed fetches of the provider's signing keys since its definition was loaded.",
      (c) => c.keySetFetchErrors ?? 0,
    )
    providerCounter(
      'otpki_provider_errors_total',
      'Times preparing the provider (discovery, keys) failed since its definition was loaded.',
      (c) => c.failures,
    )
    providers.onReload((report) => {
      const rejected = report.issues.length > 0
      this.reloads.inc({ result: rejected ? 'rejected' : 'ok' })
      this.lastReloadFailed.set(rejected ? 1 : 0)
      if (!rejected) this.lastGoodReload.set(clock.now() / 1000)
    })
  }

  /** Counts sign-in events of the audit trail. */
  audited(entry: AuditEntry): void {
    if (entry.kind !== 'sign-in') return
    this.signIns.inc({ provider: entry.provider ?? '', method: entry.method ?? '', outcome: entry.outcome })
  }

  signInDuration(provider: string | undefined, seconds: number): void {
    this.signInSeconds.observe({ provider: provider ?? '' }, seconds)
  }

  /** The duration histogram of one route, bound once (the request path only counts). */
  route(route: string): { observe(seconds: number): void } {
    return this.requestSeconds.route(route)
  }

  /** The exposition text, and its content type. */
  async text(): Promise<{ body: string; contentType: string }> {
    return {
      body: (await this.registry.metrics()) + this.requestSeconds.text(),
      contentType: this.registry.contentType,
    }
  }
}

type ProviderCounterSource = ReturnType<ProviderRegistry['list']>[number]['counters']

/**
 * A histogram by route that the request path feeds with two additions: every
 * request passes it, and prom-client's labelled histogram hashed the labels on
 * each observation (a quarter of OTPKI's own per-request CPU). Written out in
 * the Prometheus text format when scraped.
 */
class RouteTimings {
  private readonly routes = new Map<string, { counts: Float64Array; sum: number; count: number }>()

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  route(route: string): { observe(seconds: number): void } {
    let timing = this.routes.get(route)
    if (!timing) {
      timing = { counts: new Float64Array(this.bounds.length), sum: 0, count: 0 }
      this.routes.set(route, timing)
    }
    const t = timing
    const bounds = this.bounds
    return {
      observe(seconds: number) {
        t.sum += seconds
        t.count++
        for (let i = 0; i < bounds.length; i++) {
          if (seconds <= bounds[i]!) {
            t.counts[i]!++
            return
          }
        }
      },
    }
  }

  text(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const [route, t] of this.routes) {
      const label = route.replace(/[\\"\n]/g, '_')
      let cumulative = 0
      this.bounds.forEach((bound, i) => {
        cumulative += t.counts[i]!
        lines.push(`${this.name}_bucket{le="${bound}",route="${label}"} ${cumulative}`)
      })
      lines.push(`${this.name}_bucket{le="+Inf",route="${label}"} ${t.count}`)
      lines.push(`${this.name}_sum{route="${label}"} ${t.sum}`)
      lines.push(`${this.name}_count{route="${label}"} ${t.count}`)
    }
    return `${lines.join('\n')}\n`
  }
}
