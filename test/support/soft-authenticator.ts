import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto'

const b64u = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

/** A CBOR byte string header (length < 65536). */
const cborBytes = (bytes: Buffer) =>
  Buffer.concat([
    bytes.length < 24
      ? Buffer.from([0x40 + bytes.length])
      : bytes.length < 256
        ? Buffer.from([0x58, bytes.length])
        : Buffer.from([0x59, bytes.length >> 8, bytes.length & 0xff]),
    bytes,
  ])
const cborText = (text: string) => Buffer.concat([Buffer.from([0x60 + text.length]), Buffer.from(text)])

/** What an assertion or registration may get wrong on purpose. */
export interface Tampering {
  origin?: string
  rpId?: string
  counter?: number
  userVerified?: boolean
  type?: string
}

/**
 * A WebAuthn authenticator in Node: one P-256 credential, discoverable, that
 * signs what a browser would send (the JSON encoding of a PublicKeyCredential)
 * for any origin and relying-party ID it is told, so that a test can make a
 * correctly signed response that only the server's checks refuse.
 */
export class SoftAuthenticator {
  readonly credentialId: Buffer
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  counter = 0

  constructor(
    readonly rpId: string,
    readonly origin: string,
    key?: { privateKey: KeyObject; publicKey: KeyObject; credentialId: Buffer },
  ) {
    const pair = key ?? { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }), credentialId: randomBytes(16) }
    this.privateKey = pair.privateKey
    this.publicKey = pair.publicKey
    this.credentialId = pair.credentialId
  }

  get id(): string {
    return b64u(this.credentialId)
  }

  /** The public key as COSE (EC2, ES256), as authenticators give it at registration. */
  cosePublicKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' })
    const x = Buffer.from(jwk.x!, 'base64url')
    const y = Buffer.from(jwk.y!, 'base64url')
    return Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]),
      cborBytes(x),
      Buffer.from([0x22]),
      cborBytes(y),
    ])
  }

  private authData(rpId: string, counter: number, userVerified: boolean, attested?: Buffer): Buffer {
    const flags = 0x01 | (userVerified ? 0x04 : 0) | (attested ? 0x40 : 0)
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)])
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  /** A registration response (attestation `none`) to a challenge. */
  register(challenge: string, tampering: Tampering = {}) {
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, this.cosePublicKey()])
    const authData = this.authData(tampering.rpId ?? this.rpId, 0, tampering.userVerified ?? true, attested)
    const attestationObject = Buffer.concat([
      Buffer.from([0xa3]),
      cborText('fmt'),
      cborText('none'),
      cborText('attStmt'),
      Buffer.from([0xa0]),
      cborText('authData'),
      cborBytes(authData),
    ])
    const clientDataJSON = this.clientData(
      tampering.type ?? 'webauthn.create',
      challenge,
      tampering.origin ?? this.origin,
    )
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    }
  }

  /** An assertion to a challenge: signed, with the next counter unless told another. */
  assert(challenge: string, tampering: Tampering = {}, userHandle?: string) {
    if (tampering.counter === undefined) this.counter++
    const authData = this.authData(
      tampering.rpId ?? this.rpId,
      tampering.counter ?? this.counter,
      tampering.userVerified ?? true,
    )
    const clientDataJSON = this.clientData(tampering.type ?? 'webauthn.get', challenge, tampering.origin ?? this.origin)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        ...(userHandle ? { userHandle } : {}),
      },
      clientExtensionResults: {},
    }
  }
}
