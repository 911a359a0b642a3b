import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { H3Event } from 'h3'
import {
  addressUrl,
  closeServer,
  definePlugin,
  jsonResponse,
  listen,
  OtpkiError,
  readJsonObject,
} from '../../core/index.ts'
import { CERTIFICATE_MIGRATIONS, CertificateSchema, CertificateStore } from './certificate-store.ts'
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

const username = (event: H3Event) => decodeURIComponent(event.context.params?.username ?? '')

/**
 * The client-certificate auth method: certificates forwarded by the ingress,
 * or received by OTPKI's own mTLS listener. It owns the main configuration's
 * `clientCertificate` section, the certificates table, the administration
 * routes and `otpki users` commands for certificates, and the mTLS listener.
 */
export default definePlugin({
  name: 'client-certificate',
  kind: 'auth-method',
  config: { key: 'clientCertificate', fields: clientCertificateFields, doc: CLIENT_CERTIFICATE_DOC },
  async register(ctx) {
    const config = resolveClientCertificateConfig(ctx.config, ctx.baseDir)
    ctx.entities([CertificateSchema], CERTIFICATE_MIGRATIONS)
    ctx.userField({
      name: 'certificates',
      header: 'CERTIFICATES',
      values: (services, userIds) => new CertificateStore(services).counts(userIds),
    })

    ctx.adminSection({
      name: 'certificates',
      title: 'Client certificates',
      permission: 'manageCertificates',
      columns: [
        { key: 'subject', label: 'Subject' },
        { key: 'issuer', label: 'Issuer' },
        { key: 'validity', label: 'Valid' },
        { key: 'fingerprint', label: 'SHA-256 fingerprint' },
      ],
      async rows(user, services) {
        return (await new CertificateStore(services).certificates(user.username)).map((c) => ({
          id: c.fingerprint,
          cells: {
            subject: c.subject.replaceAll('\n', ', '),
            issuer: c.issuer.replaceAll('\n', ', '),
            validity: `${c.notBefore.slice(0, 10)} to ${c.notAfter.slice(0, 10)}`,
            fingerprint: c.fingerprint,
          },
        }))
      },
      add: {
        label: 'Attach a certificate (PEM or DER file)',
        accept: '.pem,.crt,.cer,.der',
        async run(user, file, services) {
          const certificate = await new CertificateStore(services).attach(user.username, pemOf(file))
          return { fingerprint: certificate.fingerprint, subject: certificate.subject }
        },
      },
      remove: {
        label: 'Detach',
        run: (user, fingerprint, services) => new CertificateStore(services).detach(user.username, fingerprint),
      },
    })
    ctx.route({
      method: 'GET',
      path: '/admin/users/:username/certificates',
      async handler(event, services) {
        await services.requirePermission(event, 'manageCertificates', { changes: false })
        return jsonResponse({ certificates: await new CertificateStore(services).certificates(username(event)) })
      },
    })
    ctx.route({
      method: 'POST',
      path: '/admin/users/:username/certificates',
      async handler(event, services) {
        const admin = await services.requirePermission(event, 'manageCertificates', { changes: true })
        const body = await readJsonObject(event)
        if (typeof body.pem !== 'string' || body.pem.length > 65_536) {
          throw new OtpkiError('REQUEST_INVALID', 'no pem', { publicMessage: 'Send JSON: { "pem": "..." }.' })
        }
        const certificate = await new CertificateStore(services).attach(username(event), body.pem)
        services.audit.record({
          kind: 'admin',
          outcome: 'success',
          reason: 'certificate.attach',
          username: username(event),
          actor: admin.user.username,
          detail: { fingerprint: certificate.fingerprint, subject: certificate.subject },
        })
        return jsonResponse({ certificate }, { status: 201 })
      },
    })
    ctx.route({
      method: 'DELETE',
      path: '/admin/users/:username/certificates/:fingerprint',
      async handler(event, services) {
        const admin = await services.requirePermission(event, 'manageCertificates', { changes: true })
        const fingerprint = event.context.params?.fingerprint ?? ''
        await new CertificateStore(services).detach(username(event), fingerprint)
        services.audit.record({
          kind: 'admin',
          outcome: 'success',
          reason: 'certificate.detach',
          username: username(event),
          actor: admin.user.username,
          detail: { fingerprint },
        })
        return jsonResponse({ detached: true })
      },
    })
    ctx.command({
      name: 'users attach-cert',
      arguments: ['username', 'file'],
      description: "attach a PEM certificate to a user's account",
      async action([user, file], services) {
        const cert = await new CertificateStore(services).attach(user!, await readFile(file!, 'utf8'))
        services.audit.record({
          kind: 'cli',
          outcome: 'success',
          reason: 'certificate.attach',
          username: user,
          actor: 'cli',
          detail: { fingerprint: cert.fingerprint, subject: cert.subject },
        })
        services.print(
          `attached ${cert.fingerprint} (${cert.subject.replaceAll('\n', ', ')}, valid until ${cert.notAfter}) to ${user}`,
        )
      },
    })
    ctx.command({
      name: 'users detach-cert',
      arguments: ['username', 'fingerprint'],
      description: "detach a certificate (SHA-256 fingerprint) from a user's account",
      async action([user, fingerprint], services) {
        await new CertificateStore(services).detach(user!, fingerprint!)
        services.audit.record({
          kind: 'cli',
          outcome: 'success',
          reason: 'certificate.detach',
          username: user,
          actor: 'cli',
          detail: { fingerprint },
        })
        services.print(`detached ${fingerprint} from ${user}`)
      },
    })

    if (!config.enabled) return
    // Loaded only when enabled: its certificate parsing library is a good part of a start.
    const { clientCertificateAuthenticator } = await import('./client-certificate-authenticator.js')
    ctx.addTrustedProxies(config.trustedProxies)
    ctx.registerRequestAuthenticator((services) => clientCertificateAuthenticator(config, services))
    ctx.adminAccess((services) => new CertificateStore(services).anyHolderWithRole(services.adminRoles))
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

/** A certificate file as PEM text: PEM as it is, DER wrapped. */
function pemOf(file: Uint8Array): string {
  const text = Buffer.from(file).toString('latin1')
  if (text.includes('-----BEGIN')) return Buffer.from(file).toString('utf8')
  const base64 = Buffer.from(file).toString('base64')
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`
}
