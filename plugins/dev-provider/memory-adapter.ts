/**
 * The development provider's storage: in memory, per process, each entry
 * dropped when it expires, at most 10,000 per model. Given to oidc-provider
 * as its adapter, so it does not warn, on every start, that its own
 * quick-start adapter is in use.
 */
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number }

const MAX_PER_MODEL = 10_000

/** An adapter class with storage of its own: one per provider instance. */
export function memoryAdapter() {
  const stores = new Map<string, Map<string, { payload: Payload; expiresAt: number }>>()
  return class MemoryAdapter {
    readonly entries: Map<string, { payload: Payload; expiresAt: number }>

    constructor(readonly model: string) {
      let store = stores.get(model)
      if (!store) {
        store = new Map()
        stores.set(model, store)
      }
      this.entries = store
    }

    async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
      this.entries.delete(id)
      if (this.entries.size >= MAX_PER_MODEL) this.entries.delete(this.entries.keys().next().value!)
      this.entries.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY })
    }

    async find(id: string): Promise<Payload | undefined> {
      const entry = this.entries.get(id)
      if (!entry) return undefined
      if (entry.expiresAt <= Date.now()) {
        this.entries.delete(id)
        return undefined
      }
      return entry.payload
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      for (const [id, e] of this.entries) if (e.payload.userCode === userCode) return this.find(id)
      return undefined
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      for (const [id, e] of this.entries) if (e.payload.uid === uid) return this.find(id)
      return undefined
    }

    async consume(id: string): Promise<void> {
      const entry = this.entries.get(id)
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000)
    }

    async destroy(id: string): Promise<void> {
      this.entries.delete(id)
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const store of stores.values())
        for (const [id, e] of store) if (e.payload.grantId === grantId) store.delete(id)
    }
  }
}
