import { definePlugin, type ClientCertificateConfig } from '../../core/index.ts'
import { clientCertificateAuthenticator } from './client-certificate-authenticator.ts'

/**
 * The client-certificate auth method: certificates forwarded by the ingress,
 * or received by OTPKI's own mTLS listener. Its options are the main
 * configuration's `clientCertificate` section.
 */
export default definePlugin<ClientCertificateConfig>({
  name: 'client-certificate',
  kind: 'auth-method',
  register(ctx) {
    if (!ctx.options.enabled) return
    ctx.registerRequestAuthenticator((services) => clientCertificateAuthenticator(ctx.options, services))
  },
})
