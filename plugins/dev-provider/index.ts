import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { definePlugin, listenFailure } from '../../core/index.ts'
import type { DevProvider } from './dev-provider.ts'

/** The development provider's demo accounts (its demoUsers), as people are told of them. */
export const DEMO_ACCOUNTS = 'admin / admin (an administrator) or alice / alice'

/** Client registered at the development provider; matches providers/development.ts. */
export const DEV_CLIENT = { clientId: 'otpki-dev', clientSecret: 'otpki-dev-secret' } as const

/**
 * The development OpenID provider of `otpki dev` / `npm start`: starts
 * oidc-provider on its own port (OTPKI_DEV_PROVIDER_PORT, default 3001) and
 * adds its provider file. Never active in `otpki start` unless listed.
 */
export default definePlugin<{ port?: number }>({
  name: 'dev-provider',
  kind: 'service',
  async register(ctx) {
    // Client certificates at once: an mTLS listener with a throwaway CA, server and client
    // certificate under data/dev-pki/ (made once), and users created from certificate CNs.
    if (ctx.dataDir) {
      const { ensureDevPki } = await import('./throwaway-ca.js')
      const pki = await ensureDevPki(join(ctx.dataDir, 'dev-pki'))
      ctx.adjustSection('clientCertificate', (raw) =>
        raw.listen === true
          ? raw
          : {
              ...raw,
              enabled: true,
              listen: true,
              serverKey: pki.serverKey,
              serverCert: pki.serverCert,
              clientCa: pki.ca,
              createUnknownUsers: true,
            },
      )
    }
    const port = ctx.options.port ?? Number(process.env.OTPKI_DEV_PROVIDER_PORT ?? 3001)
    const publicUrl = ctx.publicUrl.replace(/\/+$/, '')
    let running: DevProvider | undefined
    // Source tree, also when OTPKI runs from dist/.
    const here = fileURLToPath(new URL('.', import.meta.url)).replace(/\/dist\/plugins\//, '/plugins/')
    ctx.addProvidersDir(join(here, 'providers'))
    ctx.onStart(async () => {
      // Loaded only when used: oidc-provider never loads in `otpki start`.
      const { startDevProvider } = await import('./dev-provider.js')
      running = await startDevProvider({
        port,
        clients: [
          {
            ...DEV_CLIENT,
            redirectUris: [`${publicUrl}/auth/callback`],
            postLogoutRedirectUris: [`${publicUrl}/auth/signed-out`],
          },
        ],
      }).catch((error: NodeJS.ErrnoException) => {
        // One clear line, as for OTPKI's own listeners.
        if (error.syscall !== 'listen') throw error
        throw listenFailure(error, 'localhost', port, {
          who: 'the development provider',
          hint: 'set OTPKI_DEV_PROVIDER_PORT to another',
        })
      })
      ctx.logger.warn(
        { issuer: running.issuer },
        `development provider running: demo accounts ${DEMO_ACCOUNTS}; never use it in production`,
      )
    })
    ctx.onStop(async () => running?.close())
  },
})
