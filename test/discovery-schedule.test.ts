import t from 'tap'
import { BoundedLru } from '../hooks/discovery/lru.js'
import {
  BACKOFF_CAP_MS,
  backoffMs,
  PollSchedule,
  SLOT_AIM_MS,
  SLOT_WINDOW_MS,
  STALE_INTERVALS,
  slotStartAtOrBefore,
} from '../hooks/discovery/schedule.js'
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

const I = 30_000
/** The start of this parent's slot `n` slots after the one containing T0. */
const slotOf = (uid: string, n: number, interval = I) => slotStartAtOrBefore(uid, interval, T0) + n * interval

t.test('slots: a grid per parent, the same for every caller, spread over the interval', async (t) => {
  const s0 = slotOf('a', 0)
  t.ok(s0 <= T0 && s0 > T0 - I, 'the slot containing now starts at most one interval back')
  t.equal(slotStartAtOrBefore('a', I, s0), s0, 'a slot start is in its own slot')
  t.equal(slotStartAtOrBefore('a', I, s0 - 1), s0 - I, 'one millisecond earlier is the previous slot')
  t.equal(slotStartAtOrBefore('a', I, s0 + I - 1), s0)
  t.equal(slotStartAtOrBefore('a', I, s0 + 7 * I + 5), s0 + 7 * I, 'slots are an interval apart')
  t.equal(slotStartAtOrBefore('a', I, T0), slotStartAtOrBefore('a', I, T0), 'no state: every replica agrees')
  const offsets = new Set<number>()
  for (let i = 0; i < 1_000; i++)
    offsets.add(Math.floor((slotStartAtOrBefore(`uid-${i}`, I, T0) % I) / 1_000))
  t.ok(offsets.size >= 28, `1,000 parents start their slots in ${offsets.size} of 30 different seconds`)
})

t.test('never polled: due, no next time', async (t) => {
  const schedule = new PollSchedule()
  t.equal(schedule.isDue('a', T0, I), true)
  t.equal(schedule.nextPollAt('a', I, T0), undefined)
  t.equal(schedule.size(), 0, 'asking does not create an entry')
})

t.test("after a success: not due again in its slot; due in the next slot's window", async (t) => {
  const schedule = new PollSchedule()
  const polledAt = slotOf('a', 0) + SLOT_AIM_MS
  schedule.recordSuccess('a', polledAt)
  t.equal(schedule.isDue('a', polledAt, I), false)
  t.equal(schedule.isDue('a', slotOf('a', 1) - 1, I), false, 'the rest of the slot carries the status')
  t.equal(schedule.nextPollAt('a', I, polledAt), slotOf('a', 1) + SLOT_AIM_MS, 'asks to come back after it')
  t.equal(schedule.isDue('a', slotOf('a', 1), I), true, 'the next slot starts: due')
  t.equal(schedule.isDue('a', slotOf('a', 1) + SLOT_WINDOW_MS - 1, I), true, 'until its window closes')
  t.equal(
    schedule.isDue('a', slotOf('a', 1) + SLOT_WINDOW_MS, I),
    false,
    'a sync later in the slot does not poll',
  )
  t.equal(schedule.nextPollAt('a', I, slotOf('a', 1) + 10_000), slotOf('a', 2) + SLOT_AIM_MS)
  t.equal(schedule.isDue('b', polledAt, I), true, 'other parents are independent')
  t.equal(
    schedule.nextPollAt('a', 60_000, polledAt),
    slotStartAtOrBefore('a', 60_000, polledAt) + 60_000 + SLOT_AIM_MS,
    'the interval is read at call time (spec edits apply)',
  )
})

t.test('a poll late in a slot covers the next one: no second poll a moment later', async (t) => {
  const schedule = new PollSchedule()
  const late = slotOf('a', 1) - 1_000
  schedule.recordSuccess('a', late)
  t.equal(schedule.isDue('a', slotOf('a', 1) + SLOT_AIM_MS, I), false)
  t.equal(schedule.nextPollAt('a', I, late), slotOf('a', 2) + SLOT_AIM_MS)
  t.equal(schedule.isDue('a', slotOf('a', 2) + SLOT_AIM_MS, I), true)
  const early = new PollSchedule()
  early.recordSuccess('a', slotOf('a', 0) + I / 2 - 1)
  t.equal(early.isDue('a', slotOf('a', 1) + SLOT_AIM_MS, I), true, 'a poll in the first half does not')
})

t.test('a replica that missed slots polls at its next sync after STALE_INTERVALS intervals', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', slotOf('a', 0) + SLOT_AIM_MS)
  const midSlot = (n: number) => slotOf('a', n) + I / 2
  t.equal(schedule.isDue('a', midSlot(1), I), false)
  t.equal(schedule.isDue('a', midSlot(2), I), false, 'two intervals: another replica may have polled')
  t.equal(STALE_INTERVALS, 3)
  t.equal(
    schedule.isDue('a', midSlot(3), I),
    true,
    'three intervals without a poll: poll whatever the window',
  )
})

t.test('two replicas behind one Service: one poll per slot, whichever replica gets its sync', async (t) => {
  // Each slot brings the sync the last answer asked for, then periodic resyncs later in the slot; the Service
  // hands every call to the next replica. Nothing changes, so no status write brings another sync.
  const replicas = [new PollSchedule(), new PollSchedule()]
  let turn = 0
  let polls = 0
  const sync = (at: number) => {
    const replica = replicas[turn++ % replicas.length]!
    if (replica.isDue('a', at, I)) {
      replica.recordSuccess('a', at)
      polls++
    }
    return replica.nextPollAt('a', I, at) ?? at
  }
  let next = sync(T0)
  const slots = 120
  const offAim: number[] = []
  for (let n = 0; n < slots; n++) {
    const at = next
    next = sync(at)
    if (next !== slotStartAtOrBefore('a', I, at) + I + SLOT_AIM_MS) offAim.push(n)
    sync(at + 11_000)
    sync(at + 23_000)
  }
  t.same(offAim, [], 'every answer asks for the next slot')
  t.equal(polls, slots + 1, `${polls} polls in ${slots} slots: one each, plus the first sync's`)
  // What a change costs: the status write it causes brings a sync within the slot's window, and the replica
  // that gets it cannot know that the other one just polled.
  const before = polls
  sync(next)
  sync(next + 40)
  t.equal(polls - before, 2, 'a sync in the window on the other replica polls again')
})

t.test('after failures: due when the backoff ends, growing per failure; success resets', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', T0)
  schedule.recordFailure('a', T0 + 30_000)
  t.equal(schedule.consecutiveFailures('a'), 1)
  t.equal(schedule.nextPollAt('a', I, T0 + 30_000), T0 + 32_000)
  t.equal(schedule.isDue('a', T0 + 31_999, I), false)
  t.equal(schedule.isDue('a', T0 + 32_000, I), true)
  schedule.recordFailure('a', T0 + 32_000)
  t.equal(schedule.nextPollAt('a', I, T0 + 32_000), T0 + 36_000, '4 s after the second failure')
  schedule.recordFailure('a', T0 + 36_000)
  t.equal(schedule.nextPollAt('a', I, T0 + 36_000), T0 + 44_000, '8 s after the third')
  schedule.recordSuccess('a', T0 + 44_000)
  t.equal(schedule.consecutiveFailures('a'), 0)
  t.equal(
    schedule.nextPollAt('a', I, T0 + 44_000),
    slotStartAtOrBefore('a', I, T0 + 44_000) + I + SLOT_AIM_MS,
    'back to the slots',
  )
})

t.test('a long outage backs off to the cap, not beyond', async (t) => {
  const schedule = new PollSchedule()
  let now = T0
  for (let i = 0; i < 30; i++) {
    schedule.recordFailure('a', now)
    now = schedule.nextPollAt('a', I, now) ?? now
  }
  t.equal(schedule.nextPollAt('a', I, now), now)
  schedule.recordFailure('a', now)
  t.equal((schedule.nextPollAt('a', I, now) ?? 0) - now, 300_000)
})

t.test('a first poll that failed backs off too', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordFailure('a', T0)
  t.equal(schedule.isDue('a', T0 + 1_000, I), false)
  t.equal(schedule.isDue('a', T0 + 2_000, I), true)
})

t.test('isDue is safe with small or nonsensical intervals and a clock that goes back', async (t) => {
  const schedule = new PollSchedule()
  schedule.recordSuccess('a', T0)
  t.equal(schedule.isDue('a', T0, 0), true)
  t.equal(schedule.nextPollAt('a', 0, T0), T0, 'no interval: due now')
  t.equal(schedule.isDue('a', T0, -5), true, 'negative counts as 0')
  t.equal(schedule.isDue('a', T0 + 5_000, Number.NaN), false, 'NaN counts as the floor')
  const next = schedule.nextPollAt('a', Number.NaN, T0) ?? 0
  t.ok(
    next - T0 >= MIN_POLLING_INTERVAL_MS / 2 && next - T0 <= 1.5 * MIN_POLLING_INTERVAL_MS + SLOT_AIM_MS,
    'the next slot of the floor interval',
  )
  t.equal(schedule.isDue('a', next, Number.NaN), true)
  t.equal(schedule.isDue('a', T0 + 5_000, Number.POSITIVE_INFINITY), false, 'infinity counts as the floor')
  t.ok(Number.isFinite(schedule.nextPollAt('a', Number.POSITIVE_INFINITY, T0)), 'and gives a finite time')
  t.equal(schedule.isDue('a', T0 - 60_000, I), true, 'clock stepped back: poll rather than wait')
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
