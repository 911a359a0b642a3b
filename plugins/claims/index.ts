import { definePlugin } from '../../core/index.ts'
import { defaultMapping } from './default-mapping.ts'

/** The built-in claim mappers. */
export default definePlugin({
  name: 'claims',
  kind: 'claim-mapper',
  register(ctx) {
    ctx.registerClaimMapper(defaultMapping)
  },
})
