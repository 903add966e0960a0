// The record lists (src/shared/records.js): the period filter's query, cursor paging (a page that
// answers after a new filter is dropped), and the rows of a usage record's and a signature
// record's card.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  PAGE_SIZE,
  cursorPager,
  pageQuery,
  periodFrom,
  periodQuery,
  placementsText,
  requesterName,
  signatureRows,
  usageRows,
} from '../src/shared/records.js'

const NOW = Date.UTC(2026, 2, 31, 4, 0) // 2026-03-31 12:00 in China

test('the default period sends no from; a month back is the same day, clamped', () => {
  assert.equal(periodFrom(3, '2026-03-31', NOW), '')
  assert.equal(periodFrom(1, '2026-03-31', NOW), '2026-02-28')
  assert.equal(periodFrom(0.25, '2026-03-31', NOW), '2026-03-24')
  assert.equal(periodQuery(3, '2026-03-31', NOW).toString(), '')
  assert.equal(periodQuery(1, '2026-03-31', NOW).toString(), 'from=2026-02-28')
})

test('a page query carries the period, the page size and the cursor', () => {
  assert.equal(pageQuery(3, null, '2026-03-31', NOW).toString(), `limit=${PAGE_SIZE}`)
  const q = pageQuery(1, 'abc=', '2026-03-31', NOW)
  assert.equal(q.get('from'), '2026-02-28')
  assert.equal(q.get('limit'), String(PAGE_SIZE))
  assert.equal(q.get('cursor'), 'abc=')
})

const fresh = () => ({ items: [], loading: true, finished: false, failed: false })

test('pages are appended until there is no next cursor', async () => {
  const asked = []
  const pages = [{ items: [1, 2], next_cursor: 'c1' }, { items: [3], next_cursor: null }]
  const state = fresh()
  const { more } = cursorPager(async (cursor) => {
    asked.push(cursor)
    return pages.shift()
  }, state)
  await more()
  assert.deepEqual(state.items, [1, 2])
  assert.equal(state.finished, false)
  assert.equal(state.loading, false)
  state.loading = true
  await more()
  assert.deepEqual(asked, [null, 'c1'])
  assert.deepEqual(state.items, [1, 2, 3])
  assert.equal(state.finished, true)
})

test('a failed page says so and keeps what was loaded', async () => {
  const state = fresh()
  let fail = false
  const { more } = cursorPager(async () => {
    if (fail) throw new Error('offline')
    return { items: ['a'], next_cursor: 'c1' }
  }, state)
  await more()
  fail = true
  await more()
  assert.deepEqual(state.items, ['a'])
  assert.equal(state.failed, true)
  assert.equal(state.loading, false)
})

test('reset starts from the first page; a page answered after it is dropped', async () => {
  const state = fresh()
  const waiting = []
  const { more, reset } = cursorPager((cursor) => new Promise((resolve) => waiting.push({ cursor, resolve })), state)
  const slow = more()
  const again = reset()
  assert.equal(state.loading, true)
  waiting[1].resolve({ items: ['new'], next_cursor: null })
  await again
  waiting[0].resolve({ items: ['old'], next_cursor: 'stale' })
  await slow
  assert.deepEqual(waiting.map((w) => w.cursor), [null, null])
  assert.deepEqual(state.items, ['new'])
  assert.equal(state.finished, true)
  assert.equal(state.loading, false)
})

test('the relying system is a name or {name}', () => {
  assert.equal(requesterName({ requester: '合同系统' }), '合同系统')
  assert.equal(requesterName({ requester: { name: '合同系统' } }), '合同系统')
  assert.equal(requesterName({}), '')
})

test('the placements a signature filled, numbered from 1', () => {
  assert.equal(placementsText([]), '')
  assert.equal(placementsText(undefined), '')
  assert.equal(placementsText([0]), '第 1 处')
  assert.equal(placementsText([1, 3]), '2 处（第 2、4 处）')
})

test("a signature record's card shows the API's fields, none invented", () => {
  const rows = signatureRows({
    record_id: '0b6f3c1e-8a8e-4a57-9b1a-2f1d1c1e0a01', signed_at: '2026-03-31T04:05:06Z',
    user_name: '张三', request_id: 'r1', document_title: '个人承诺书', document_sha256: 'ab',
    requester: '个人签字系统', placements: [0, 2], certificate_serial: '5A3F',
    format: 'gbt38540', algorithm: 'sm2-sm3',
  })
  assert.deepEqual(rows.map((r) => [r.label, r.value]), [
    ['签名时间', '2026-03-31 12:05:06'],
    ['签名人', '张三'],
    ['业务系统', '个人签字系统'],
    ['签名位置', '2 处（第 1、3 处）'],
    ['签名算法', 'OFD 国密签章（SM2，GB/T 38540）'],
    ['签名证书', '5A3F'],
    ['记录编号', '0b6f3c1e-8a8e-4a57-9b1a-2f1d1c1e0a01'],
  ])
  assert.equal(rows.find((r) => r.label === '记录编号').test, 'signature-record-id')
})

test("a usage record's card leaves out an unknown relying system", () => {
  const rows = usageRows({
    used_at: '2026-03-31T04:05:06Z', user_name: '李四', enterprise_name: '甲公司',
    document_title: '采购合同', requester: null,
  })
  assert.deepEqual(rows.map((r) => r.label), ['使用时间', '使用人员', '所属企业', '文件名称'])
  assert.equal(rows[0].value, '2026-03-31 12:05:06')
})
