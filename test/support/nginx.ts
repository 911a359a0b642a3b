import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { listening } from './listening.ts'

/** Debian's nginx binary, if installed. */
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))

/** Runs nginx in the foreground with `http` as its http block, under `dir`. */
export async function startNginx(
  dir: string,
  port: number,
  http: string,
): Promise<{ close(): Promise<void>; errors(): Promise<string> }> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx)')
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub), { recursive: true })
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  ${http}
}
`
  await writeFile(join(dir, 'nginx.conf'), conf)
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  await Promise.race([
    listening(port, Date.now() + 10_000).then((up) => {
      if (!up) throw new Error(`nginx did not listen on ${port}`)
    }),
    exited.then((code) => Promise.reject(new Error(`nginx exited (${code}): ${stderr}`))),
  ])
  return {
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT')
        await exited
      }
    },
    async errors() {
      const { readFile } = await import('node:fs/promises')
      return readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
    },
  }
}
