import { definePlugin } from '../../core/index.ts'
import { builtInMappers } from './built-in-mappers.ts'
import { defaultMapping } from './default-mapping.ts'

/** The built-in claim mappers: the default mapping, and the ones providers list in `mappers`. */
export default definePlugin({
  name: 'claims',
  kind: 'claim-mapper',
  register(ctx) {
    ctx.registerClaimMapper(defaultMapping)
    for (const mapper of builtInMappers) ctx.registerClaimMapper(mapper)
  },
})
