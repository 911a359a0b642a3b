import { request as httpsRequest } from 'node:https'

/** GET over TLS to the mTLS listener, with (or without) a client certificate. */
export function mtlsGet(
  url: string,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, servername: 'localhost' }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, any> }))
    })
    req.on('error', reject)
    req.end()
  })
}
