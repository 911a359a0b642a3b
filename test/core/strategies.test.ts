import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { definePlugin, field, OtpkiError, type AuthMethod } from '../../core/index.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, signIn, startHarness } from '../support/harness.ts'

/**
 * A strategy that is not OIDC: the "approver" at `approveUrl` sends the browser
 * back with a form POST naming the user. Enough to prove that core serves
 * any strategy through the provider envelope, the generic routes and the
 * sign-in pipeline.
 */
const approvalFields = {
  approveUrl: field.url({ doc: 'Where the browser is sent to be approved.', required: true }),
  realm: field.string({ doc: 'Whose identities these are.', default: 'approvals' }),
}
const approvals: AuthMethod<{ approveUrl: string }, { approveUrl: string; realm: string }, typeof approvalFields> = {
  strategy: 'approval',
  optionsSchema: approvalFields,
  resolveOptions: (value) => ({
    options: value,
    issues: value.realm.includes(' ') ? [{ key: 'realm', reason: 'must not contain spaces' }] : [],
  }),
  issuerOf: (options) => `urn:approval:${options.realm}`,
  describe: (options) => ({ approveUrl: options.approveUrl }),
  initialize: async (provider) => ({ approveUrl: provider.options.approveUrl }),
  async start(context) {
    const state = randomBytes(16).toString('base64url')
    const url = new URL(context.approveUrl)
    url.searchParams.set('state', state)
    return { url, data: { state } }
  },
  async finish(_context, provider, request, pending) {
    const form = request.form
    if (!form || form.get('state') !== pending.data.state)
      throw new OtpkiError('AUTH_RESPONSE_INVALID', 'the approval does not belong to this sign-in')
    const user = form.get('user') ?? ''
    const claims = { iss: provider.issuer, sub: `user:${user}`, preferred_username: user }
    return { result: { claims, idTokenClaims: undefined, userinfo: undefined, idToken: undefined } }
  },
}
const approvalPlugin = definePlugin({
  name: 'approval',
  kind: 'auth-method',
  register: (ctx) => ctx.registerAuthMethod(approvals),
})

describe('a provider of another strategy: the envelope plus the options its plugin owns', () => {
  const track = closeAfterEach()
  const start = () =>
    startHarness({
      overrides: { plugins: [approvalPlugin] },
      providers: ({ providerJson }) => ({
        'dev.json': providerJson(),
        'desk.json': JSON.stringify({
          strategy: 'approval',
          displayName: 'Help desk approval',
          approveUrl: 'https://approver.example.test/approve',
          syncMode: 'import',
        }),
      }),
    })

  it('signs in through the generic routes (callback by form POST) and the pipeline', async () => {
    const h = track(await start())
    expect(h.app.registry.get('desk')?.definition).toMatchObject({
      strategy: 'approval',
      issuer: 'urn:approval:approvals',
      options: { approveUrl: 'https://approver.example.test/approve', realm: 'approvals' },
      syncMode: 'import',
    })
    const browser = new TestBrowser()
    const page = await browser.request(`${h.url}/auth/sign-in`)
    expect(page.body).toContain('Help desk approval')
    expect(page.body).toContain('Test SSO')
    const started = await browser.request(`${h.url}/auth/sign-in?provider=desk`)
    expect(started.status).toBe(303)
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!
    const forged = await browser.request(`${h.url}/auth/callback`, { form: { state: 'forged', user: 'mallory' } })
    expect(forged.status).toBe(400)
    const again = await browser.request(`${h.url}/auth/sign-in?provider=desk`)
    const realState = new URL(again.headers.get('location')!).searchParams.get('state')!
    expect(realState).not.toBe(state)
    const back = await browser.request(`${h.url}/auth/callback`, { form: { state: realState, user: 'grace' } })
    expect(back.status).toBe(303)
    const me = await browser.request(`${h.url}/auth/me`)
    expect(JSON.parse(me.body)).toMatchObject({
      user: { username: 'grace' },
      method: 'approval',
      provider: 'desk',
      session: { expiresAt: expect.any(String) },
    })
    // An OIDC sign-in beside it still works.
    const oidc = new TestBrowser()
    await signIn(oidc, h, 'alice', 'alice', { provider: 'dev' })
    expect(JSON.parse((await oidc.request(`${h.url}/auth/me`)).body)).toMatchObject({
      user: { username: 'alice' },
      method: 'oidc',
      provider: 'dev',
    })
  })

  it("refuses the file's bad keys by name: unknown to both, or refused by the strategy's own checks", async () => {
    const h = track(await start())
    const unknown = await h.writeProvider(
      'bad.json',
      JSON.stringify({ strategy: 'approval', approveUrl: 'https://a.example.test', clientId: 'x' }),
    )
    expect(unknown.issues).toEqual([expect.objectContaining({ key: 'clientId', reason: 'is not a known key' })])
    const checked = await h.writeProvider(
      'bad.json',
      JSON.stringify({ strategy: 'approval', approveUrl: 'https://a.example.test', realm: 'two words' }),
    )
    expect(checked.issues).toEqual([expect.objectContaining({ key: 'realm', reason: 'must not contain spaces' })])
    const strategy = await h.writeProvider('bad.json', JSON.stringify({ strategy: 'saml', entityId: 'x' }))
    expect(strategy.issues).toEqual([
      expect.objectContaining({
        key: 'strategy',
        reason: expect.stringMatching(/unknown strategy "saml" \(known: .*approval/),
      }),
    ])
    expect(h.app.registry.get('desk')?.status()).toBeDefined()
  })

  it('refuses a plugin whose options would reuse an envelope key, or a second default strategy', async () => {
    const clash = definePlugin({
      name: 'clash',
      kind: 'auth-method',
      register: (ctx) =>
        ctx.registerAuthMethod({
          ...approvals,
          strategy: 'clash',
          optionsSchema: { ...approvalFields, enabled: field.boolean({ doc: 'x' }) },
        }),
    })
    await expect(startHarness({ overrides: { plugins: [clash] } })).rejects.toThrow(
      /auth method clash: its options must not reuse the envelope's keys \(enabled\)/,
    )
    const second = definePlugin({
      name: 'second',
      kind: 'auth-method',
      register: (ctx) => ctx.registerAuthMethod({ ...approvals, isDefault: true }),
    })
    await expect(startHarness({ overrides: { plugins: [second] } })).rejects.toThrow(
      /another strategy is already the default \(oidc\)/,
    )
  })
})
