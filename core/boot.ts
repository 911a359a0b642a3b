import { createServer } from 'node:http'
import type { AppOptions, RunningApp } from './app.ts'
import { findConfigFile, loadMainConfig } from './config/main-config.ts'
import { withHsts } from './http/hsts.ts'
import { StartGate } from './http/start-gate.ts'
import { createLogger } from './logger.ts'
import { closeServer, listen } from './server.ts'

/**
 * `otpki start`: reads the configuration, listens at once (`/healthz` answers,
 * other requests wait), then loads the rest of OTPKI (the ORM and its
 * drivers are most of a start), opens the database and serves. A port in use
 * or a bad configuration fails before anything heavy loads.
 */
export async function boot(options: AppOptions = {}): Promise<RunningApp> {
  const env = options.env ?? process.env
  const config = await loadMainConfig(
    options.configFile === false ? undefined : findConfigFile(options.configFile, env),
    {
      env,
      ...(options.overrides ? { overrides: options.overrides } : {}),
    },
  )
  const logger = createLogger(config.logLevel, options.logDestination)
  const gate = new StartGate()
  const server = createServer(new URL(config.publicUrl).protocol === 'https:' ? withHsts(gate.listener) : gate.listener)
  await listen(server, config.port, config.host, logger)
  try {
    const { startApp } = await import('./app.ts')
    return await startApp({ ...options, early: { config, logger, server, gate } })
  } catch (error) {
    gate.fail()
    await closeServer(server)
    throw error
  }
}
