import { definePlugin } from '../../core/index.ts'
import { defaultUserSync } from './default-user-sync.ts'

/** The default user sync. */
export default definePlugin({
  name: 'user-sync',
  kind: 'user-sync',
  register(ctx) {
    ctx.registerUserSync(defaultUserSync)
  },
})
