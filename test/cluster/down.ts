// `npm run cluster:down`: stops every process `cluster:up` started (by the pids it recorded) and removes its
// state folder and .cluster/env. Does nothing when no cluster is up.
import { clusterDown } from './control-plane.js'
import { readEnvFile } from './layout.js'

const state = process.env.CLUSTER_STATE || readEnvFile().CLUSTER_STATE
if (state) {
  await clusterDown(state)
  process.stderr.write(`[cluster:down] stopped and removed ${state}\n`)
} else {
  process.stderr.write('[cluster:down] no cluster is up (no .cluster/env)\n')
}
