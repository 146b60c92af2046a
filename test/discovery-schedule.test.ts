import t from 'tap'
import { BoundedLru } from '../hooks/discovery/lru.js'
import { BACKOFF_CAP_MS, backoffMs, PollSchedule } from '../hooks/discovery/schedule.js'
import { MIN_POLLING_INTERVAL_MS } from '../hooks/dittoserver/spec.js'

const T0 = Date.UTC(2026, 0, 1)

t.test('backoffMs: 2 s doubling per consecutive failure, capped at 5 min', async (t) => {
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8].map(backoffMs),
    [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000],
  )
  t.equal(backoffMs(9), BACKOFF_CAP_MS)
  t.equal(backoffMs(10), 300_000)
  t.equal(backoffMs(1_000), 300_000, 'no overflow for a long outage')
  t.equal(backoffMs(Number.MAX_SAFE_INTEGER), 300_000)
  t.equal(backoffMs(0), 0)
  t.equal(backoffMs(-3), 0)
  t.equal(backoffMs(Number.NaN), 0)
})

t.test('never polled: due, no next time', async (t) => {
  const schedule = new PollSchedule()
  t.equal(schedule.isDue('a', T0, 30_000), true)
  t.equal(schedule.nextPollAt('a', 30_000), undefined)
  t.equal(schedule.size(), 0, 'asking does not create an entry')
})

t.test('after a success: due again once the interval has passed', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', T0)
  t.equal(schedule.isDue('a', T0, 30_000), false)
  t.equal(schedule.isDue('a', T0 + 29_999, 30_000), false)
  t.equal(schedule.isDue('a', T0 + 30_000, 30_000), true)
  t.equal(schedule.nextPollAt('a', 30_000), T0 + 30_000)
  t.equal(schedule.nextPollAt('a', 60_000), T0 + 60_000, 'interval is read at call time (spec edits apply)')
  t.equal(schedule.isDue('b', T0, 30_000), true, 'other parents are independent')
})

t.test('after failures: due when the backoff ends, growing per failure; success resets', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', T0)
  schedule.recordFailure('a', T0 + 30_000)
  t.equal(schedule.consecutiveFailures('a'), 1)
  t.equal(schedule.nextPollAt('a', 30_000), T0 + 32_000)
  t.equal(schedule.isDue('a', T0 + 31_999, 30_000), false)
  t.equal(schedule.isDue('a', T0 + 32_000, 30_000), true)
  schedule.recordFailure('a', T0 + 32_000)
  t.equal(schedule.nextPollAt('a', 30_000), T0 + 36_000, '4 s after the second failure')
  schedule.recordFailure('a', T0 + 36_000)
  t.equal(schedule.nextPollAt('a', 30_000), T0 + 44_000, '8 s after the third')
  schedule.recordSuccess('a', T0 + 44_000)
  t.equal(schedule.consecutiveFailures('a'), 0)
  t.equal(schedule.nextPollAt('a', 30_000), T0 + 74_000, 'back to the interval')
})

t.test('a long outage backs off to the cap, not beyond', async (t) => {
  const schedule = new PollSchedule()
  let now = T0
  for (let i = 0; i < 30; i++) {
    schedule.recordFailure('a', now)
    now = schedule.nextPollAt('a', 30_000) ?? now
  }
  t.equal(schedule.nextPollAt('a', 30_000), now)
  schedule.recordFailure('a', now)
  t.equal((schedule.nextPollAt('a', 30_000) ?? 0) - now, 300_000)
})

t.test('a first poll that failed backs off too', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordFailure('a', T0)
  t.equal(schedule.isDue('a', T0 + 1_000, 30_000), false)
  t.equal(schedule.isDue('a', T0 + 2_000, 30_000), true)
})

t.test('isDue is safe with small or nonsensical intervals and a clock that goes back', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', T0)
  t.equal(
    schedule.isDue('a', T0 + 1_000, 1_000),
    true,
    'intervals below the floor work (floor is the caller’s)',
  )
  t.equal(schedule.isDue('a', T0, 0), true)
  t.equal(schedule.isDue('a', T0, -5), true, 'negative counts as 0')
  t.equal(schedule.isDue('a', T0 + 5_000, Number.NaN), false, 'NaN counts as the floor')
  t.equal(schedule.isDue('a', T0 + MIN_POLLING_INTERVAL_MS, Number.NaN), true)
  t.equal(schedule.isDue('a', T0 + 5_000, Number.POSITIVE_INFINITY), false)
  t.equal(schedule.isDue('a', T0 - 60_000, 30_000), true, 'clock stepped back: poll rather than wait')
})

t.test('forget and the LRU bound', async (t) => {
  const schedule = new PollSchedule({ maxEntries: 3 })
  schedule.recordSuccess('a', T0)
  schedule.recordSuccess('b', T0)
  schedule.recordSuccess('c', T0)
  schedule.recordSuccess('a', T0 + 1) // a is now the most recently recorded
  schedule.recordSuccess('d', T0 + 2) // evicts b, the oldest
  t.equal(schedule.size(), 3)
  t.equal(schedule.isDue('b', T0 + 3, 30_000), true, 'evicted: due (only costs one early poll)')
  t.equal(schedule.isDue('a', T0 + 3, 30_000), false)
  t.equal(schedule.isDue('c', T0 + 3, 30_000), false)
  t.equal(schedule.isDue('d', T0 + 3, 30_000), false)
  schedule.forget('a')
  t.equal(schedule.size(), 2)
  t.equal(schedule.isDue('a', T0 + 3, 30_000), true)
  t.throws(() => new PollSchedule({ maxEntries: 0 }), RangeError)
})

t.test('many parents stay within the bound', async (t) => {
  const schedule = new PollSchedule({ maxEntries: 1_000 })
  for (let i = 0; i < 5_000; i++) schedule.recordFailure(`uid-${i}`, T0)
  t.equal(schedule.size(), 1_000)
  t.equal(schedule.consecutiveFailures('uid-4999'), 1)
  t.equal(schedule.consecutiveFailures('uid-0'), 0, 'oldest evicted')
})

t.test('runOnce: concurrent callers for one parent share one run', async (t) => {
  const schedule = new PollSchedule()
  let runs = 0
  let release: (value: string) => void = () => {}
  const work = () => {
    runs++
    return new Promise<string>((resolve) => {
      release = resolve
    })
  }
  const first = schedule.runOnce('a', work)
  const second = schedule.runOnce('a', work)
  const other = schedule.runOnce('b', async () => 'b-result')
  await Promise.resolve()
  release('a-result')
  t.same(await Promise.all([first, second, other]), ['a-result', 'a-result', 'b-result'])
  t.equal(runs, 1)
  t.equal(await schedule.runOnce('a', async () => 'later'), 'later', 'a settled run is not reused')
})

t.test('runOnce: a failure is shared, then cleared', async (t) => {
  const schedule = new PollSchedule()
  let runs = 0
  const failing = async () => {
    runs++
    throw new Error('boom')
  }
  const results = await Promise.allSettled([schedule.runOnce('a', failing), schedule.runOnce('a', failing)])
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  )
  t.equal(runs, 1)
  t.equal(await schedule.runOnce('a', async () => 'recovered'), 'recovered')
  const sync = () => {
    throw new Error('sync throw')
  }
  await t.rejects(
    schedule.runOnce('b', sync),
    { message: 'sync throw' },
    'a synchronous throw becomes a rejection',
  )
  t.equal(await schedule.runOnce('b', async () => 'ok'), 'ok')
})

t.test('BoundedLru: get refreshes, peek does not', async (t) => {
  const lru = new BoundedLru<string, number>(2)
  lru.set('a', 1)
  lru.set('b', 2)
  t.equal(lru.get('a'), 1)
  lru.set('c', 3) // evicts b: a was read more recently
  t.same([lru.peek('a'), lru.peek('b'), lru.peek('c')], [1, undefined, 3])
  t.equal(lru.peek('a'), 1)
  lru.set('d', 4) // peek did not refresh a: a goes
  t.same([lru.peek('a'), lru.peek('c'), lru.peek('d')], [undefined, 3, 4])
  t.equal(lru.delete('c'), true)
  t.equal(lru.size, 1)
})
