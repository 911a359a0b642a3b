import { oidcPresets } from './presets.ts'
import { definePlugin } from '../../core/index.ts'
import { backchannelLogoutRoute } from './backchannel-logout.ts'
import { bearerAuthenticator } from './bearer-authenticator.ts'
import { tokensRoute } from './tokens-route.ts'
import { oidcAuthMethod } from './oidc-auth-method.ts'

/** The OpenID Connect auth method, serving every provider with strategy `oidc`, and bearer access tokens. */
export default definePlugin({
  name: 'oidc',
  kind: 'auth-method',
  register(ctx) {
    ctx.registerAuthMethod(oidcAuthMethod)
    ctx.registerRequestAuthenticator(bearerAuthenticator)
    for (const preset of oidcPresets) ctx.providerPreset(preset)
    ctx.route(backchannelLogoutRoute)
    ctx.route(tokensRoute)
    // One issuer is one provider: a token or a logout names its issuer, which must pick exactly one.
    ctx.providerRule({
      key: 'issuer',
      uniqueBy: (d) => (d.strategy === 'oidc' ? d.issuer.replace(/\/+$/, '') : undefined),
      reason: (other) => `two providers with the same issuer (also ${other.name} in ${other.source})`,
    })
    // Opaque tokens go to one provider only, so a token is never sent to another.
    ctx.providerRule({
      key: 'introspectTokens',
      uniqueBy: (d) => (d.strategy === 'oidc' && d.options.introspectTokens ? 'introspect' : undefined),
      reason: (other) =>
        `only one provider may introspect opaque tokens (also ${other.name} in ${other.source}), so a token is never sent to another provider`,
      refuses: 'later',
    })
  },
})
