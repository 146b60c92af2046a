import t from 'tap'
import { BoundedMemo, deepFreeze } from '../hooks/memo.js'

t.test('a memo computes each key once and stays within its bound', async (t) => {
  const memo = new BoundedMemo<string>({ entries: 3, keyChars: 1000, maxKeyChars: 100 })
  let computed = 0
  const compute = (key: string) => () => {
    computed++
    return key.toUpperCase()
  }
  t.equal(memo.get('a', compute('a')), 'A')
  t.equal(memo.get('a', compute('a')), 'A')
  t.equal(computed, 1, 'a hit does not recompute')
  memo.get('b', compute('b'))
  memo.get('c', compute('c'))
  t.equal(memo.size, 3)
  t.equal(memo.get('d', compute('d')), 'D')
  t.equal(memo.size, 1, 'full: everything was forgotten before storing the new entry')
  t.equal(memo.get('a', compute('a')), 'A', 'a forgotten key is computed again, with the same answer')
  t.equal(computed, 5)
})

t.test('a memo is bounded by the size of its keys too: tenant input cannot grow it', async (t) => {
  const memo = new BoundedMemo<number>({ entries: 1000, keyChars: 50, maxKeyChars: 20 })
  let computed = 0
  const compute = () => ++computed
  const long = 'x'.repeat(21)
  memo.get(long, compute)
  memo.get(long, compute)
  t.equal(computed, 2, 'a key above maxKeyChars is computed every time')
  t.equal(memo.size, 0, 'and never stored')
  for (let i = 0; i < 3; i++) memo.get(`${i}`.padStart(20, 'k'), compute)
  t.equal(memo.size, 1, 'the third 20-character key would pass 50 characters: the map was forgotten first')
  const before = computed
  memo.get('2'.padStart(20, 'k'), compute)
  t.equal(computed, before, 'the entry stored after forgetting is a hit')
})

t.test('deepFreeze freezes objects and arrays all the way down', async (t) => {
  const value = deepFreeze({ a: { b: [{ c: 1 }] }, d: 'x', e: null })
  t.ok(Object.isFrozen(value))
  t.ok(Object.isFrozen(value.a.b))
  t.ok(Object.isFrozen(value.a.b[0]))
  t.throws(() => {
    ;(value.a.b[0] as { c: number }).c = 2
  }, TypeError)
  t.equal(deepFreeze(null), null)
  t.equal(deepFreeze('text'), 'text')
})
