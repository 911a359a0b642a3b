import { resolveClientCertificateConfig } from '../../plugins/client-certificate/config.ts'
import { CERTIFICATE_MIGRATIONS, CertificateSchema } from '../../plugins/client-certificate/certificate-store.ts'
import { clientCertificateAuthenticator } from '../../plugins/client-certificate/client-certificate-authenticator.ts'
import { requireClaim, requireVerifiedEmail } from '../../plugins/flows/index.ts'
import { bearerAuthenticator } from '../../plugins/oidc/bearer-authenticator.ts'
import { oidcAuthMethod } from '../../plugins/oidc/oidc-auth-method.ts'
import { JoseProvider } from '../support/jose-provider.ts'
import { defaultUserSync } from '../../plugins/user-sync/default-user-sync.ts'
import {
  authMethodContract,
  flowStepContract,
  requestAuthenticatorContract,
  runMappers,
  sampleClaims,
  testProvider,
  userSyncContract,
} from '../../testing/index.ts'

/** The built-in extensions pass the contract suites `otpki/testing` gives every plugin author. */
requestAuthenticatorContract('bearer (oidc)', {
  build: (services) => bearerAuthenticator(services),
  malformed: [['authorization', 'Basic b3Rwa2k6c2VjcmV0']],
})

requestAuthenticatorContract('client-certificate', {
  build: (services) =>
    clientCertificateAuthenticator(
      resolveClientCertificateConfig(
        {
          enabled: true,
          format: 'nginx',
          verifyValue: 'SUCCESS',
          trustedProxies: ['127.0.0.1'],
          ingressVerifies: true,
          listenPort: 0,
        },
        '/',
      ),
      services,
    ),
  malformed: [['ssl-client-cert', 'not-a-certificate']],
  extensions: { entities: [CertificateSchema], migrations: CERTIFICATE_MIGRATIONS },
})

userSyncContract(defaultUserSync, testProvider())

const claims = sampleClaims({ email: 'ada@example.com', email_verified: true })
const input = async () => ({
  claims,
  idTokenClaims: claims,
  userinfo: undefined,
  provider: testProvider(),
  identity: await runMappers([], claims),
  user: undefined,
  firstLogin: true,
})
flowStepContract(requireClaim, { options: { claim: 'email', pattern: '.+@example\\.com' }, input: await input() })
flowStepContract(requireVerifiedEmail, { input: await input() })

let joseProvider: JoseProvider
authMethodContract('oidc', {
  method: oidcAuthMethod,
  before: async () => {
    joseProvider = await JoseProvider.start('otpki', 'contract-secret')
  },
  after: () => joseProvider.close(),
  options: () => ({ issuer: joseProvider.issuer, clientId: 'otpki', clientSecret: 'contract-secret' }),
  // The test provider signs its user in at once: its answer is the callback.
  complete: async (url) => {
    const answer = await fetch(url, { redirect: 'manual' })
    return { query: new URL(answer.headers.get('location')!).searchParams, form: undefined }
  },
})
