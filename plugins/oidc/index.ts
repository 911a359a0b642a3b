import { definePlugin } from '../../core/index.ts'
import { oidcAuthMethod } from './oidc-auth-method.ts'

/** The OpenID Connect auth method, serving every provider with strategy `oidc`. */
export default definePlugin({
  name: 'oidc',
  kind: 'auth-method',
  register(ctx) {
    ctx.registerAuthMethod(oidcAuthMethod)
  },
})
