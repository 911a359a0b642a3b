import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createJiti } from 'jiti'
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser'

import { packageRoot } from '../paths.ts'

/**
 * `import ... from 'otpki'` in a config, provider or plugin file resolves to the
 * running OTPKI wherever the file is (`/etc/otpki/`, say), not to a copy that
 * the file's own directory may or may not have.
 */
function otpkiAliases(): Record<string, string> {
  const root = packageRoot(import.meta.url)
  const entry = (built: string, source: string) =>
    existsSync(join(root, built)) ? join(root, built) : join(root, source)
  return {
    'otpki/testing': entry('dist/testing/index.js', 'testing/index.ts'),
    // The plugins OTPKI ships but does not load by itself: `plugins: ['otpki/plugins/passkey']`.
    'otpki/plugins/passkey': entry('dist/plugins/passkey/index.js', 'plugins/passkey/index.ts'),
    otpki: entry('dist/index.js', 'index.ts'),
  }
}
const ALIASES = otpkiAliases()
const JITI_OPTIONS = { moduleCache: false, fsCache: false, interopDefault: true, alias: ALIASES }

/** A module of the running OTPKI named by its package path (`otpki/plugins/passkey`), wherever the naming file is. */
export function runningPackageModule(specifier: string): string | undefined {
  return Object.hasOwn(ALIASES, specifier) ? ALIASES[specifier] : undefined
}

const jiti = createJiti(import.meta.url, JITI_OPTIONS)

/** How long an operator's `.ts`/`.js` file may take to load before it is reported and abandoned. */
export const MODULE_LOAD_TIMEOUT_MS = 5_000
/** Configuration files larger than this are refused unread. */
export const CONFIG_FILE_MAX_BYTES = 1_048_576

/** A configuration file that could not be loaded: the message names line and column, never the file's content. */
export class ModuleLoadError extends Error {
  override readonly name = 'ModuleLoadError'
}

/**
 * Loads a configuration module in this thread: `.json` is parsed, `.ts`/`.js`/`.mjs`
 * is imported through jiti with caching off, so an edited file is read anew.
 * Returns the default export (or the module namespace when it has none).
 * For the main config file, whose plugins are code.
 */
export async function loadConfigModule(path: string): Promise<unknown> {
  if (path.endsWith('.json')) return loadJson(path)
  await checkSize(path)
  try {
    return await jiti.import(path, { default: true })
  } catch (cause) {
    throw describeFailure(path, cause)
  }
}

/**
 * Loads a data-only configuration module (a provider file) off the serving
 * thread: a `.ts`/`.js` file is evaluated in a worker within
 * {@link MODULE_LOAD_TIMEOUT_MS}, so one that hangs or loops forever is
 * reported (and its worker ended) while the server goes on serving. Its
 * default export must be plain data.
 */
export async function loadDataModule(path: string): Promise<unknown> {
  if (path.endsWith('.json')) return loadJson(path)
  await checkSize(path)
  return moduleWorker.run(path, 'data')
}

/**
 * Imports a plugin module (path or package name). It is first evaluated in a
 * worker within {@link MODULE_LOAD_TIMEOUT_MS}, so a module that never
 * finishes loading is reported instead of freezing start-up.
 */
export async function importModule(specifier: string): Promise<unknown> {
  await moduleWorker.run(specifier, 'probe')
  try {
    return await jiti.import(specifier, { default: true })
  } catch (cause) {
    throw describeFailure(specifier, cause)
  }
}

async function checkSize(path: string): Promise<void> {
  const { size } = await stat(path)
  if (size > CONFIG_FILE_MAX_BYTES) throw new ModuleLoadError(`the file is larger than ${CONFIG_FILE_MAX_BYTES} bytes`)
}

/** Every syntax error of a JSON file, each with its line and column (never a fragment of the file). */
async function loadJson(path: string): Promise<unknown> {
  await checkSize(path)
  const text = await readFile(path, 'utf8')
  const errors: ParseError[] = []
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
  if (errors.length > 0) {
    const where = errors.map((e) => `${lineColumn(text, e.offset)}: ${describeJsonError(printParseErrorCode(e.error))}`)
    throw new ModuleLoadError(`invalid JSON: ${where.join('; ')}`)
  }
  return JSON.parse(text)
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`
}

function describeJsonError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()
}

/** An import failure as one line: the error's kind and message, with the line and column in `file` it points at. */
function describeFailure(file: string, cause: unknown): ModuleLoadError {
  const error = cause instanceof Error ? cause : new Error(String(cause))
  const firstLine = error.message.split('\n')[0]!.trim()
  const text = `${error.message}\n${error.stack ?? ''}`
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const at = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(text)
  const where = at
    ? ` (line ${at[1]}, column ${Number(at[2]) + (error.message.includes(`${file}:${at[1]}:${at[2]}`) ? 1 : 0)})`
    : ''
  return new ModuleLoadError(`${error.name === 'Error' ? '' : `${error.name}: `}${firstLine}${where}`, { cause })
}

/**
 * The worker that evaluates operator modules, one at a time. A module that
 * exceeds its time ends the worker; the next module gets a fresh one.
 */
class ModuleWorker {
  private worker: Worker | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private seq = 0
  private readonly pending = new Map<
    number,
    { path: string; resolve: (value: unknown) => void; reject: (error: Error) => void }
  >()

  run(path: string, mode: 'data' | 'probe'): Promise<unknown> {
    const result = this.queue.then(() => this.evaluate(path, mode))
    this.queue = result.catch(() => undefined)
    return result
  }

  private evaluate(path: string, mode: 'data' | 'probe'): Promise<unknown> {
    const worker = this.ensure()
    const id = ++this.seq
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        this.stop()
        reject(
          new ModuleLoadError(
            `did not finish loading within ${MODULE_LOAD_TIMEOUT_MS / 1000} s (it hangs or loops); abandoned`,
          ),
        )
      }, MODULE_LOAD_TIMEOUT_MS)
      this.pending.set(id, {
        path,
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      worker.postMessage({ id, path, mode })
    })
  }

  private ensure(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        jiti: pathToFileURL(createRequire(import.meta.url).resolve('jiti')).href,
        base: import.meta.url,
        options: JITI_OPTIONS,
      },
      stdout: false,
      stderr: false,
    })
    worker.unref()
    worker.on(
      'message',
      (message: { id: number; ok: boolean; value?: unknown; name?: string; message?: string; stack?: string }) => {
        const waiter = this.pending.get(message.id)
        if (!waiter) return
        this.pending.delete(message.id)
        if (message.ok) waiter.resolve(message.value)
        else {
          const error = Object.assign(new Error(message.message), {
            name: message.name ?? 'Error',
            stack: message.stack,
          })
          waiter.reject(
            message.name === 'DataCloneError'
              ? new ModuleLoadError('must export plain data (no functions or class instances)')
              : describeFailure(waiter.path, error),
          )
        }
      },
    )
    // Only the current worker's end fails what waits on it; one ended after a time-out is already replaced.
    worker.on('error', (error) => {
      if (this.worker === worker) this.fail(error)
    })
    worker.on('exit', () => {
      if (this.worker !== worker) return
      this.worker = undefined
      this.fail(new Error('the module worker stopped'))
    })
    this.worker = worker
    return worker
  }

  private fail(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(new ModuleLoadError(error.message))
    this.pending.clear()
  }

  private stop(): void {
    const worker = this.worker
    this.worker = undefined
    void worker?.terminate()
  }
}

/** Runs in the worker: evaluates one module per message with jiti, answers its default export (data) or nothing (probe). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
let jiti
// A copy that keeps what structured cloning would drop silently: an object whose prototype was
// set (a __proto__: literal) becomes one with an own "__proto__" key, which validation refuses.
const plain = (value, seen = new Map()) => {
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value)) return seen.get(value)
  if (Array.isArray(value)) {
    const copy = []
    seen.set(value, copy)
    for (const item of value) copy.push(plain(item, seen))
    return copy
  }
  const proto = Object.getPrototypeOf(value)
  const copy = {}
  seen.set(value, copy)
  if (proto !== Object.prototype && proto !== null) Object.defineProperty(copy, '__proto__', { value: true, enumerable: true, writable: true, configurable: true })
  for (const key of Object.keys(value)) Object.defineProperty(copy, key, { value: plain(value[key], seen), enumerable: true, writable: true, configurable: true })
  return copy
}
parentPort.on('message', async ({ id, path, mode }) => {
  try {
    jiti ??= (await import(workerData.jiti)).createJiti(workerData.base, workerData.options)
    const value = await jiti.import(path, { default: true })
    parentPort.postMessage({ id, ok: true, value: mode === 'data' ? plain(value) : undefined })
  } catch (error) {
    parentPort.postMessage({ id, ok: false, name: error && error.name, message: String(error && error.message !== undefined ? error.message : error), stack: String(error && error.stack || '') })
  }
})
`

const moduleWorker = new ModuleWorker()
