// The API server's rules the hook applies to spec values (hooks/dittoserver/k8s-rules.ts), case by case, next to
// the test suite's independent validator (support/apimachinery.ts): the two must agree.
import t from 'tap'
import {
  cidrProblem,
  isStrictSubnet,
  labelValueProblem,
  parseCidr,
  qualifiedNameProblem,
  quantityValue,
  resourceNameProblem,
} from '../hooks/dittoserver/k8s-rules.js'
import { isCidr, isLabelValue, isQualifiedName } from './support/apimachinery.js'

t.test('qualified names (label and annotation keys)', async (t) => {
  const good = [
    'a',
    'app.kubernetes.io/name',
    'example.com/x_y.z',
    'A-b',
    'x'.repeat(63),
    `${'a'.repeat(253)}/b`,
  ]
  const bad = [
    '',
    'bad key!',
    'a/b/c',
    '-x',
    'x-',
    'Example.com/x',
    '/x',
    'x/',
    'x'.repeat(64),
    `${'a'.repeat(254)}/b`,
  ]
  for (const key of good) {
    t.equal(qualifiedNameProblem(key), undefined, `${key.slice(0, 20)}: valid`)
    t.ok(isQualifiedName(key), `${key.slice(0, 20)}: the validator agrees`)
  }
  for (const key of bad) {
    t.type(qualifiedNameProblem(key), 'string', `${key.slice(0, 20)}: refused`)
    t.notOk(isQualifiedName(key), `${key.slice(0, 20)}: the validator agrees`)
  }
})

t.test('label values', async (t) => {
  for (const value of ['', 'a', 'a.b_c-d', 'x'.repeat(63)]) {
    t.equal(labelValueProblem(value), undefined, value)
    t.ok(isLabelValue(value))
  }
  for (const value of ['a b', '-a', 'a-', 'x'.repeat(64)]) {
    t.type(labelValueProblem(value), 'string', value)
    t.notOk(isLabelValue(value))
  }
})

t.test('CIDRs, IPv4 and IPv6, and strict subnets', async (t) => {
  const good = [
    '10.0.0.0/8',
    '0.0.0.0/0',
    '10.0.0.1/32',
    'fd00::/64',
    '::/0',
    '::ffff:10.0.0.0/104',
    '2001:db8::1/128',
  ]
  const bad = [
    '10.0.0.0',
    '999.1.1.1/99',
    '10.0.0.0/33',
    '010.0.0.0/8',
    '1:2:3/64',
    'fd00::/129',
    'x/8',
    '10.0.0.0/08',
  ]
  for (const cidr of good) {
    t.equal(cidrProblem(cidr), undefined, cidr)
    t.ok(isCidr(cidr), `${cidr}: the validator agrees`)
  }
  for (const cidr of bad) {
    t.type(cidrProblem(cidr), 'string', cidr)
    t.notOk(isCidr(cidr), `${cidr}: the validator agrees`)
  }
  const at = (text: string) => {
    const cidr = parseCidr(text)
    if (!cidr) throw new Error(text)
    return cidr
  }
  t.ok(isStrictSubnet(at('10.1.0.0/16'), at('10.0.0.0/8')))
  t.ok(isStrictSubnet(at('10.1.2.3/16'), at('10.0.0.0/8')), 'host bits do not matter')
  t.notOk(isStrictSubnet(at('10.0.0.0/8'), at('10.0.0.0/8')), 'not strictly inside')
  t.notOk(isStrictSubnet(at('11.0.0.0/16'), at('10.0.0.0/8')))
  t.notOk(isStrictSubnet(at('fd00::/64'), at('10.0.0.0/8')), 'another family')
  t.ok(isStrictSubnet(at('fd00:0:0:1::/64'), at('fd00::/48')))
  t.notOk(isStrictSubnet(at('fd01::/64'), at('fd00::/48')))
  t.ok(isStrictSubnet(at('::ffff:10.1.0.0/112'), at('::ffff:10.0.0.0/104')), 'embedded IPv4 tails')
})

t.test('quantities and resource names', async (t) => {
  const values: Array<[unknown, number | undefined]> = [
    ['500m', 0.5],
    ['2', 2],
    [2, 2],
    ['1Gi', 2 ** 30],
    ['1.5k', 1500],
    ['1e3', 1000],
    ['-1', -1],
    ['.5', 0.5],
    ['lots', undefined],
    ['1 Gi', undefined],
    ['1Gb', undefined],
    [true, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['1e999', undefined],
  ]
  for (const [value, expected] of values) t.equal(quantityValue(value), expected, JSON.stringify(value))
  for (const name of [
    'cpu',
    'memory',
    'ephemeral-storage',
    'hugepages-2Mi',
    'example.com/gpu',
    'nvidia.com/gpu',
  ]) {
    t.equal(resourceNameProblem(name), undefined, name)
  }
  for (const name of ['gpu', 'hugepages-x', 'storage', 'bad name', 'a/b/c']) {
    t.type(resourceNameProblem(name), 'string', name)
  }
})
