import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { addressUrl, closeServer, definePlugin, listen, OtpkiError } from '../../core/index.ts'
import { clientCertificateAuthenticator } from './client-certificate-authenticator.ts'
import { CLIENT_CERTIFICATE_DOC, clientCertificateFields, resolveClientCertificateConfig } from './config.ts'

/** A PEM file named by the section, or an error naming key and file. */
function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message
    throw new OtpkiError('CONFIG_INVALID', `clientCertificate.${key}: cannot read ${file}: ${reason}`, { cause })
  }
}

/**
 * The client-certificate auth method: certificates forwarded by the ingress,
 * or received by OTPKI's own mTLS listener. It owns the main configuration's
 * `clientCertificate` section.
 */
export default definePlugin({
  name: 'client-certificate',
  kind: 'auth-method',
  config: { key: 'clientCertificate', fields: clientCertificateFields, doc: CLIENT_CERTIFICATE_DOC },
  register(ctx) {
    const config = resolveClientCertificateConfig(ctx.config, ctx.baseDir)
    if (!config.enabled) return
    ctx.addTrustedProxies(config.trustedProxies)
    ctx.registerRequestAuthenticator((services) => clientCertificateAuthenticator(config, services))
    ctx.adminAccess(({ adminRoles, users }) => users.anyCertificateHolderWithRole(adminRoles))
    if (config.listen) {
      ctx.listener({
        name: 'mtls',
        async start(handler, main) {
          // Asks for a client certificate; the authenticator checks the TLS verdict.
          const server = createServer(
            {
              key: readPem('serverKey', config.serverKey!),
              cert: readPem('serverCert', config.serverCert!),
              ca: readPem('clientCa', config.clientCa!),
              requestCert: true,
              rejectUnauthorized: false,
            },
            handler,
          )
          const host = config.listenHost ?? main.host
          await listen(server, config.listenPort, host, ctx.logger)
          return { url: addressUrl('https', host, server), close: () => closeServer(server) }
        },
      })
    }
  },
})
