import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

type CryptoKeyPair = webcrypto.CryptoKeyPair

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

export interface Issued {
  cert: x509.X509Certificate
  certPem: string
  keyPem: string
  der: Buffer
  fingerprint: string
}

function pemOf(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

async function issued(cert: x509.X509Certificate, keys: CryptoKeyPair): Promise<Issued> {
  const der = Buffer.from(cert.rawData)
  const fingerprint = Buffer.from(await webcrypto.subtle.digest('SHA-256', der)).toString('hex')
  return {
    cert,
    certPem: `${cert.toString('pem')}\n`,
    keyPem: pemOf('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    der,
    fingerprint,
  }
}

let serial = 1
const nextSerial = () => (++serial).toString(16).padStart(4, '0')

/**
 * A throwaway certificate authority that issues client and server
 * certificates: for `otpki dev` and for tests. Never for production.
 */
export class TestCa {
  private constructor(
    readonly root: Issued,
    private readonly keys: CryptoKeyPair,
    readonly name: string,
  ) {}

  static async create(name = 'OTPKI Test CA'): Promise<TestCa> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: nextSerial(),
      name: `CN=${name}`,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 365 * 86400_000),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    })
    return new TestCa(await issued(cert, keys), keys, name)
  }

  /** A client certificate; `subject` is an X.500 name (`CN=alice`, `O=x`, `CN=a, CN=b`). */
  async client(subject: string, validity: { from?: number; to?: number } = {}): Promise<Issued> {
    return this.issue(subject, validity, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])])
  }

  /** A server certificate for `localhost` and 127.0.0.1. */
  async server(): Promise<Issued> {
    return this.issue('CN=localhost', {}, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ])
  }

  private async issue(
    subject: string,
    validity: { from?: number; to?: number },
    extensions: x509.Extension[],
  ): Promise<Issued> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject,
      issuer: this.root.cert.subject,
      notBefore: new Date(validity.from ?? now - 3600_000),
      notAfter: new Date(validity.to ?? now + 30 * 86400_000),
      signingKey: this.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(false), ...extensions],
    })
    return issued(cert, keys)
  }
}

/** The files `otpki dev` keeps under data/dev-pki/. */
export interface DevPki {
  dir: string
  ca: string
  serverKey: string
  serverCert: string
  clientKey: string
  clientCert: string
}

/**
 * Makes (once) a CA, a server certificate for localhost and a client
 * certificate (CN=automation) under `dir`, so a newcomer can try the mTLS
 * listener with one curl command.
 */
export async function ensureDevPki(dir: string): Promise<DevPki> {
  const { existsSync } = await import('node:fs')
  const { mkdir, writeFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const files: DevPki = {
    dir,
    ca: join(dir, 'ca.pem'),
    serverKey: join(dir, 'server-key.pem'),
    serverCert: join(dir, 'server.pem'),
    clientKey: join(dir, 'client-key.pem'),
    clientCert: join(dir, 'client.pem'),
  }
  if (
    Object.values(files)
      .slice(1)
      .every((f) => existsSync(f))
  )
    return files
  await mkdir(dir, { recursive: true })
  const ca = await TestCa.create('OTPKI development CA')
  const server = await ca.server()
  const client = await ca.client('CN=automation')
  await writeFile(files.ca, ca.root.certPem)
  await writeFile(files.serverCert, server.certPem)
  await writeFile(files.serverKey, server.keyPem, { mode: 0o600 })
  await writeFile(files.clientCert, client.certPem)
  await writeFile(files.clientKey, client.keyPem, { mode: 0o600 })
  return files
}
