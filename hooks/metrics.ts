import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

// Prometheus metrics. Labels are fixed small sets (hook, outcome, reason): never a parent name, URL or value,
// so cardinality stays bounded and nothing sensitive can leak through a label.

export type HookName = 'sync' | 'finalize' | 'customize'
export type Outcome =
  | 'ok'
  | 'invalid_request'
  | 'invalid_spec'
  | 'unprocessable'
  | 'overloaded'
  | 'deadline'
  | 'error'

export interface HookMetrics {
  registry: Registry
  observeHook(hook: HookName, outcome: Outcome, seconds: number): void
  observePoll(result: string): void
  inFlight: Gauge
}

export function createMetrics(
  sources: { discoveryCounters?: () => Record<string, number>; scheduleSize?: () => number } = {},
): HookMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'dittofs_hooks_' })
  const requests = new Counter({
    name: 'dittofs_hooks_requests_total',
    help: 'Hook calls by hook and outcome.',
    labelNames: ['hook', 'outcome'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'dittofs_hooks_request_duration_seconds',
    help: 'Hook call duration by hook and outcome.',
    labelNames: ['hook', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const polls = new Counter({
    name: 'dittofs_hooks_discovery_polls_total',
    help: 'DittoFS adapter polls by result (ok, APIUnreachable, AuthenticationFailed, InvalidResponse).',
    labelNames: ['result'],
    registers: [registry],
  })
  const inFlight = new Gauge({
    name: 'dittofs_hooks_in_flight_requests',
    help: 'Hook calls being processed.',
    registers: [registry],
  })
  if (sources.discoveryCounters) {
    const read = sources.discoveryCounters
    new Gauge({
      name: 'dittofs_hooks_discovery_api_calls',
      help: 'DittoFS API calls made by this process since start, by kind (logins, refreshes, provisions, polls).',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        for (const [kind, value] of Object.entries(read())) this.set({ kind }, value)
      },
    })
  }
  if (sources.scheduleSize) {
    const size = sources.scheduleSize
    new Gauge({
      name: 'dittofs_hooks_tracked_parents',
      help: 'DittoServers with an in-memory poll schedule (bounded).',
      registers: [registry],
      collect() {
        this.set(size())
      },
    })
  }
  return {
    registry,
    inFlight,
    observeHook(hook, outcome, seconds) {
      requests.inc({ hook, outcome })
      duration.observe({ hook, outcome }, seconds)
    },
    observePoll(result) {
      polls.inc({ result })
    },
  }
}
