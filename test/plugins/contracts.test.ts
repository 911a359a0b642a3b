import { resolveClientCertificateConfig } from '../../plugins/client-certificate/config.ts'
import { CERTIFICATE_MIGRATIONS, CertificateSchema } from '../../plugins/client-certificate/certificate-store.ts'
import { clientCertificateAuthenticator } from '../../plugins/client-certificate/client-certificate-authenticator.ts'
import { requireClaim, requireVerifiedEmail } from '../../plugins/flows/index.ts'
import { bearerAuthenticator } from '../../plugins/oidc/bearer-authenticator.ts'
import { oidcAuthMethod } from '../../plugins/oidc/oidc-auth-method.ts'
import { JoseProvider } from '../support/jose-provider.ts'
import { SoftAuthenticator } from '../support/soft-authenticator.ts'
import { resolvePasskeyConfig } from '../../plugins/passkey/config.ts'
import { passkeyMethod } from '../../plugins/passkey/method.ts'
import { PASSKEY_MIGRATIONS, PasskeyChallengeSchema, PasskeySchema, PasskeyStore } from '../../plugins/passkey/store.ts'
import { defaultUserSync } from '../../plugins/user-sync/default-user-sync.ts'
import {
  authMethodContract,
  flowStepContract,
  requestAuthenticatorContract,
  runMappers,
  sampleClaims,
  testProvider,
  testServices,
  type TestServices,
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

// Passkeys: a software authenticator in Node signs what a browser would post; the credential is registered first.
const passkeyConfig = resolvePasskeyConfig(
  { registerRoles: [], requireForRoles: [], rpName: 'OTPKI', timeout: '5m', attestation: 'none' },
  'https://otpki.example.test',
)
const authenticator = new SoftAuthenticator(passkeyConfig.rpId, passkeyConfig.origin)
let passkeyServices: TestServices
authMethodContract('passkey', {
  // testServices has no sign-in pipeline: the identity side answers as linked already.
  method: passkeyMethod(passkeyConfig, () => ({
    ...passkeyServices,
    identities: {
      ...passkeyServices.identities,
      find: (_, subject) => passkeyServices.users.findById(Number(subject)),
    },
  })),
  before: async () => {
    passkeyServices = await testServices({
      entities: [PasskeySchema, PasskeyChallengeSchema],
      migrations: PASSKEY_MIGRATIONS,
    })
    const user = await passkeyServices.users.createUser('ada', async () => undefined)
    await new PasskeyStore(passkeyServices).add({
      id: authenticator.id,
      userId: user.id,
      userHandle: 'handle',
      name: 'Laptop',
      publicKey: authenticator.cosePublicKey(),
      counter: 0,
      transports: [],
      backedUp: false,
    })
  },
  after: () => passkeyServices.close(),
  options: () => ({}),
  complete: async (url) => ({
    query: new URLSearchParams(),
    form: new URLSearchParams({
      credential: JSON.stringify(authenticator.assert(url.searchParams.get('challenge')!)),
    }),
  }),
})
