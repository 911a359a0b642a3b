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
    ctx.route(backchannelLogoutRoute)
    ctx.route(tokensRoute)
  },
})
