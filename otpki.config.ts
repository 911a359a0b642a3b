import { defineConfig } from 'otpki'

/**
 * OTPKI Sign-in main configuration. Every scalar key can be overridden by its
 * OTPKI_* variable (see README). Changes here need a restart; provider files
 * in config/providers/ are reloaded live.
 */
export default defineConfig({
  port: 3000,
  database: 'data/otpki.sqlite',
  providersDir: 'config/providers',
  sessionMaxInactive: '30m',
  sessionMaxLength: '10h',
  plugins: ['./plugins/passkey/index.ts'],
})
