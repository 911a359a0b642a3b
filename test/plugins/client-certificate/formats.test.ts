import { X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_HEADERS,
  forwardedCertificate,
  type ForwardFormat,
} from '../../../plugins/client-certificate/formats.ts'
import type { RequestInfo } from '../../../core/index.ts'
import { TestCa, type Issued } from '../../../plugins/dev-provider/throwaway-ca.ts'

function request(headers: [string, string][]): RequestInfo {
  return {
    headers: new Headers(headers),
    headerValues: (name) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v),
    remoteAddress: '127.0.0.1',
    tls: undefined,
  }
}

describe('forwarded certificate formats, from samples shaped as each proxy sends them', () => {
  let client: Issued
  let other: Issued
  beforeAll(async () => {
    const ca = await TestCa.create()
    client = await ca.client('CN=robot')
    other = await ca.client('CN=someone-else')
  })

  const body = (i: Issued) => i.der.toString('base64')
  const samples: [ForwardFormat, (i: Issued) => string][] = [
    // nginx $ssl_client_escaped_cert, ingress-nginx ssl-client-cert
    ['nginx', (i) => encodeURIComponent(i.certPem)],
    // Envoy / Istio XFCC, SANITIZE_SET
    [
      'envoy',
      (i) =>
        `By=spiffe://cluster.local/ns/pki/sa/otpki;Hash=${i.fingerprint};Cert="${encodeURIComponent(i.certPem)}";Subject="CN=robot";URI=spiffe://cluster.local/ns/ci/sa/robot`,
    ],
    // Traefik passTLSClientCert pem: true
    ['traefik', (i) => encodeURIComponent(body(i))],
    // RFC 9440 Client-Cert
    ['rfc9440', (i) => `:${body(i)}:`],
    // HAProxy %[ssl_c_der,base64], Caddy certificate_der_base64
    ['base64-der', (i) => body(i)],
    // AWS ALB mutual TLS passthrough/verify: URL-encoded PEM
    ['aws-alb', (i) => encodeURIComponent(i.certPem)],
  ]

  it.each(samples)('%s', (format, sample) => {
    const der = forwardedCertificate(
      request([[DEFAULT_HEADERS[format], sample(client)]]),
      format,
      DEFAULT_HEADERS[format],
    )
    expect(new X509Certificate(der!).fingerprint256.replaceAll(':', '').toLowerCase()).toBe(client.fingerprint)
  })

  it('Envoy XFCC with several hops: only the element the trusted hop added counts', () => {
    const spoofed = `By=spiffe://a;Cert="${encodeURIComponent(other.certPem)}";Subject="CN=someone-else"`
    const added = `By=spiffe://b;Hash=${client.fingerprint};Cert="${encodeURIComponent(client.certPem)}";Subject="CN=robot, O=a,b"`
    const der = forwardedCertificate(
      request([['x-forwarded-client-cert', `${spoofed},${added}`]]),
      'envoy',
      'x-forwarded-client-cert',
    )
    expect(Buffer.compare(der!, client.der)).toBe(0)
    // The trusted hop's element has no Cert: refused, never the earlier element's certificate.
    expect(() =>
      forwardedCertificate(
        request([['x-forwarded-client-cert', `${spoofed},By=spiffe://b;Hash=abc`]]),
        'envoy',
        'x-forwarded-client-cert',
      ),
    ).toThrow(/has no Cert/)
  })

  it('refuses a repeated header, and values that hold no certificate', () => {
    const header = 'ssl-client-cert'
    expect(() =>
      forwardedCertificate(
        request([
          [header, encodeURIComponent(client.certPem)],
          [header, encodeURIComponent(other.certPem)],
        ]),
        'nginx',
        header,
      ),
    ).toThrow(/appears 2 times/)
    expect(() => forwardedCertificate(request([[header, 'not a certificate!']]), 'nginx', header)).toThrow(
      /exactly one PEM certificate/,
    )
    expect(() => forwardedCertificate(request([['client-cert', body(client)]]), 'rfc9440', 'client-cert')).toThrow(
      /RFC 9440/,
    )
    expect(forwardedCertificate(request([]), 'nginx', header)).toBeUndefined()
  })
})
