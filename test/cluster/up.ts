// `npm run cluster:up`: builds what the cache lacks, starts the local control plane, writes .cluster/env and
// returns once every component is healthy. Options (environment): APPLY_STRATEGY (dynamic-apply |
// server-side-apply), RESYNC_PERIOD_SECONDS (the CompositeController's resync period, default 23).
import { clusterUp } from './control-plane.js'
import type { ApplyStrategy } from './layout.js'

const strategy = process.env.APPLY_STRATEGY || 'dynamic-apply'
if (strategy !== 'dynamic-apply' && strategy !== 'server-side-apply') {
  throw new Error(`APPLY_STRATEGY must be dynamic-apply or server-side-apply, got "${strategy}"`)
}
const resync = Number(process.env.RESYNC_PERIOD_SECONDS || 23)
if (!Number.isInteger(resync) || resync < 1)
  throw new Error('RESYNC_PERIOD_SECONDS must be a positive integer')

await clusterUp({ applyStrategy: strategy as ApplyStrategy, resyncPeriodSeconds: resync })
