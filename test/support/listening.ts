import { connect } from 'node:net'

/** Whether something accepts TCP connections on 127.0.0.1:`port` before `deadline` (epoch ms); a started proxy is ready then. */
export async function listening(port: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return false
}
