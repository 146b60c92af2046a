import t from 'tap'
import { BoundedMemo, deepFreeze } from '../hooks/memo.js'

t.test('a memo computes each key once and stays within its bound', async (t) => {
  const memo = new BoundedMemo<string>(3)
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
