import { X509Certificate } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { OtpkiError } from '../../../core/index.ts'
import { testRequest } from '../../../testing/index.ts'
import {
  DEFAULT_HEADERS,
  forwardedCertificate,
  parseXfcc,
  type ForwardFormat,
} from '../../../plugins/client-certificate/formats.ts'
import { TestCa, type Issued } from '../../../plugins/dev-provider/throwaway-ca.ts'

const FORMATS = Object.keys(DEFAULT_HEADERS) as ForwardFormat[]

/** What the parser makes of one header value: a certificate, none, or a refusal with a reason. */
function parse(format: ForwardFormat, value: string): { der?: Buffer; refused?: string } {
  try {
    const der = forwardedCertificate(testRequest([[DEFAULT_HEADERS[format], value]]), format, DEFAULT_HEADERS[format])
    return der ? { der } : {}
  } catch (error) {
    if (!(error instanceof OtpkiError) || error.code !== 'CREDENTIAL_REFUSED') throw error
    return { refused: error.message }
  }
}

const refused = (format: ForwardFormat, value: string) => parse(format, value).refused

describe('forwarded certificate headers are parsed by their grammar, strictly', () => {
  let ca: TestCa
  let robot: Issued
  let other: Issued
  const pem = (i: Issued) => encodeURIComponent(i.certPem)
  const b64 = (i: Issued) => i.der.toString('base64')
  const sample: Record<ForwardFormat, (i: Issued) => string> = {
    nginx: pem,
    'aws-alb': pem,
    envoy: (i) => `By=spiffe://otpki;Hash=${i.fingerprint};Cert="${pem(i)}";Subject="CN=robot";URI=spiffe://ci/robot`,
    traefik: (i) => encodeURIComponent(b64(i)),
    rfc9440: (i) => `:${b64(i)}:`,
    'base64-der': b64,
  }
  beforeAll(async () => {
    ca = await TestCa.create()
    robot = await ca.client('CN=robot')
    other = await ca.client('CN=other')
  })

  describe('Envoy x-forwarded-client-cert', () => {
    const xfcc = (value: string) => parse('envoy', value)
    it('parses quoted strings with backslash escapes, and several hops', () => {
      expect(parseXfcc('By=a;Subject="CN=x\\"y, O=\\\\z";URI=u, Hash=h')).toEqual([
        [
          { key: 'by', value: 'a' },
          { key: 'subject', value: 'CN=x"y, O=\\z' },
          { key: 'uri', value: 'u' },
        ],
        [{ key: 'hash', value: 'h' }],
      ])
      expect(
        xfcc(`Subject="a \\"quoted\\" name, with comma";${sample.envoy(robot).replace(';Subject="CN=robot"', '')}`).der,
      ).toEqual(robot.der)
    })
    it.each([
      [
        'an unbalanced quote',
        (v: string) => v.replace('Subject="CN=robot"', 'Subject="CN=robot'),
        /unbalanced quote|does not parse/,
      ],
      [
        'a stray character after a quoted value',
        (v: string) => v.replace('Subject="CN=robot"', 'Subject="CN=robot"x'),
        /does not parse/,
      ],
      ['a stray character in a key', (v: string) => `B y=x;${v}`, /unknown key "B"/],
      ['two Cert values in one element', (v: string) => `${v};Cert="${pem(robot)}"`, /two Cert values/],
      ['two Hash values in one element', (v: string) => `${v};Hash=${robot.fingerprint}`, /hash twice/],
      ['an unknown key', (v: string) => `${v};Evil=1`, /unknown key/],
      ['an empty element', (v: string) => `${v},`, /key was expected/],
      ['a leading comma', (v: string) => `,${v}`, /key was expected/],
      ['a key without a value', (v: string) => `${v};Subject`, /"=" was expected/],
      ['an escape at the end', (v: string) => `${v};Subject="x\\`, /ends inside an escape|unbalanced/],
      [
        'a Hash that is not the Cert’s',
        (v: string) => v.replace(robot.fingerprint, other.fingerprint),
        /Hash .* does not match/,
      ],
      [
        'a trusted element without Cert',
        (v: string) => `${v},By=spiffe://otpki;Hash=${robot.fingerprint}`,
        /has no Cert/,
      ],
      ['a Cert holding two certificates', () => `Cert="${pem(robot)}${pem(other)}"`, /exactly one PEM certificate/],
      [
        'a Cert with data after it',
        () => `Cert="${pem(robot)}${encodeURIComponent('garbage')}"`,
        /exactly one PEM certificate/,
      ],
    ])('refuses the whole header for %s', (_what, mutate, reason) => {
      expect(refused('envoy', mutate(sample.envoy(robot)))).toMatch(reason)
    })
    it('takes only the element the trusted hop appended, whatever the earlier ones hold', () => {
      const spoofed = `By=spiffe://attacker;Cert="${pem(other)}";Subject="CN=other";Hash=${other.fingerprint}`
      expect(xfcc(`${spoofed},${sample.envoy(robot)}`).der).toEqual(robot.der)
      expect(xfcc(`By=x;URI=a;URI=b;DNS=c;DNS=d, ${sample.envoy(robot)}`).der).toEqual(robot.der)
    })
  })

  it.each([
    ['nginx', (i: Issued) => encodeURIComponent(i.certPem + other.certPem), /exactly one PEM certificate/],
    ['nginx', (i: Issued) => `${encodeURIComponent(i.certPem)}junk`, /exactly one PEM certificate/],
    [
      'nginx',
      (i: Issued) => encodeURIComponent(i.certPem.replace('-----BEGIN CERTIFICATE-----', '')),
      /exactly one PEM certificate/,
    ],
    ['nginx', (i: Issued) => encodeURIComponent(i.certPem).replace('%0A', '%ZZ'), /not URL-encoded/],
    ['aws-alb', (i: Issued) => encodeURIComponent(`${i.certPem}\n${i.certPem}`), /exactly one PEM certificate/],
    ['traefik', (i: Issued) => encodeURIComponent(`${b64(i)},${b64(other)}`), /not one chain/],
    ['traefik', (i: Issued) => encodeURIComponent(`${b64(i)},`), /not base64/],
    [
      'traefik',
      (i: Issued) => encodeURIComponent(Buffer.concat([i.der, Buffer.from([0, 0])]).toString('base64')),
      /data after the certificate/,
    ],
    ['rfc9440', (i: Issued) => `:${b64(i)}:, :${b64(other)}:`, /one RFC 9440 byte sequence/],
    ['rfc9440', (i: Issued) => `:${b64(i)}:;a=1`, /one RFC 9440 byte sequence/],
    ['rfc9440', (i: Issued) => `:${b64(i).slice(1)}:`, /not base64/],
    ['base64-der', () => 'QQ==QQ==', /not base64/],
    ['base64-der', () => 'QR==', /not canonical base64/],
    ['base64-der', (i: Issued) => `${b64(i)} `.repeat(2).trim(), /not base64/],
    ['base64-der', (i: Issued) => Buffer.concat([i.der, i.der]).toString('base64'), /data after the certificate/],
    ['base64-der', (i: Issued) => i.der.subarray(0, i.der.length - 10).toString('base64'), /truncated/],
  ] as const)('%s: refuses %s', (format, value, reason) => {
    expect(refused(format, value(robot))).toMatch(reason)
  })

  it('traefik: a leaf followed by the CA that issued it is one chain; the leaf counts', async () => {
    const chain = encodeURIComponent(`${b64(robot)},${ca.root.der.toString('base64')}`)
    expect(parse('traefik', chain).der).toEqual(robot.der)
  })

  describe('fuzzed (property-based)', () => {
    it('no input, of any format, throws anything but a refusal with a reason', () => {
      for (const format of FORMATS) {
        fc.assert(
          fc.property(
            fc.oneof(
              fc.string(),
              fc.string({ unit: 'binary' }),
              fc.string({ unit: fc.constantFrom(...'Cert=";,\\%:-BEGIN ab+/=') }),
            ),
            (value) => {
              parse(format, value)
            },
          ),
          { numRuns: 400 },
        )
      }
    })

    /** Edits of a header: insert, delete or replace characters (structural ones often), duplicate or cut a slice. */
    const mutation = (length: number) =>
      fc.array(
        fc.record({
          at: fc.nat({ max: Math.max(0, length - 1) }),
          kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate', 'cut'),
          char: fc.oneof(
            fc.constantFrom(...'";,=\\% :+/\t\n-ABC0'),
            fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
          ),
          span: fc.integer({ min: 1, max: 40 }),
        }),
        { minLength: 1, maxLength: 4 },
      )
    const apply = (value: string, edits: { at: number; kind: string; char: string; span: number }[]) =>
      edits.reduce((v, { at, kind, char, span }) => {
        const i = Math.min(at, v.length)
        if (kind === 'insert') return v.slice(0, i) + char + v.slice(i)
        if (kind === 'delete') return v.slice(0, i) + v.slice(i + 1)
        if (kind === 'replace') return v.slice(0, i) + char + v.slice(i + 1)
        if (kind === 'duplicate') return v.slice(0, i + span) + v.slice(i, i + span) + v.slice(i + span)
        return v.slice(0, i)
      }, value)

    it.each(FORMATS)('%s: no mutated header selects a different valid certificate', (format) => {
      const original = sample[format](robot)
      fc.assert(
        fc.property(mutation(original.length), (edits) => {
          const { der } = parse(format, apply(original, edits))
          if (!der || der.equals(robot.der)) return
          // A changed byte may still parse as a certificate; it is then no longer one the CA issued.
          let issuedByCa: boolean
          try {
            issuedByCa = new X509Certificate(der).verify(new X509Certificate(ca.root.der).publicKey)
          } catch {
            issuedByCa = false
          }
          expect(issuedByCa).toBe(false)
        }),
        { numRuns: 1500 },
      )
    })

    it('envoy: whatever elements come before it, the trusted hop’s element decides', () => {
      const quoted = fc.string({ maxLength: 30 }).map((s) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`)
      const token = fc.stringMatching(/^[A-Za-z0-9:/._-]{0,20}$/)
      const pair = fc.oneof(
        fc
          .tuple(fc.constantFrom('By', 'URI', 'DNS', 'Subject', 'Chain'), fc.oneof(quoted, token))
          .map(([k, v]) => `${k}=${v}`),
        fc.constant(`Cert="${pem(other)}"`),
        fc.constant(`Hash=${other.fingerprint}`),
      )
      const element = fc
        .uniqueArray(pair, {
          minLength: 1,
          maxLength: 4,
          selector: (p) => (p.startsWith('URI') || p.startsWith('DNS') ? p + Math.random() : p.split('=')[0]),
        })
        .map((ps) => ps.join(';'))
      fc.assert(
        fc.property(fc.array(element, { maxLength: 4 }), (earlier) => {
          const { der, refused: reason } = parse('envoy', [...earlier, sample.envoy(robot)].join(','))
          expect(reason).toBeUndefined()
          expect(der).toEqual(robot.der)
        }),
        { numRuns: 500 },
      )
    })
  })
})
