// Unit tests of the pages' pure logic (node --test; no browser): checks, dates, the SSE
// reader and the problem-code messages.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isIdNumber, isUscc, isGoodPassword, isPhone } from '../src/shared/validate.js'
import { addYears, addMonths, formatDate, formatDateTime, today } from '../src/shared/format.js'
import { parseEvent, readEvents } from '../src/shared/sse.js'
import { ApiError, filenameOf, newTraceparent, send } from '../src/shared/http.js'
import { errorMessage, fieldErrors, MESSAGES } from '../src/shared/errors.js'

test('GB 11643 check character of resident ID numbers', () => {
  assert.ok(isIdNumber('11010519491231002X'))
  assert.ok(isIdNumber('11010519491231002x'))
  assert.ok(!isIdNumber('110105194912310021'))
  assert.ok(!isIdNumber('11010519491231002'))
})

test('GB 32100 check character of unified social credit codes', () => {
  assert.ok(isUscc('91350100M000100Y43'))
  assert.ok(!isUscc('91350100M000100Y44'))
  assert.ok(!isUscc('91350100M000100YI3')) // I is not in the alphabet
})

test('the manual password rule: 8-16 characters, at least two kinds', () => {
  assert.ok(isGoodPassword('abcd1234'))
  assert.ok(isGoodPassword('!!!!aaaa'))
  assert.ok(!isGoodPassword('abcdefgh'))
  assert.ok(!isGoodPassword('ab12'))
  assert.ok(!isGoodPassword('abcd1234abcd12345'))
  assert.ok(!isGoodPassword('密码abcd1234'))
  assert.ok(isPhone('13912345678') && !isPhone('12912345678'))
})

test('ID validity terms add calendar years; 29 February falls back to the 28th', () => {
  assert.equal(addYears('2020-03-15', 10), '2030-03-15')
  assert.equal(addYears('2020-02-29', 5), '2025-02-28')
  assert.equal(addMonths('2026-01-31', 1), '2026-02-28')
  assert.equal(addMonths('2026-11-29', 12), '2027-11-29')
})

test('times are shown in China Standard Time', () => {
  assert.equal(formatDateTime('2026-11-29T16:30:00Z'), '2026-11-30 00:30')
})

test('SSE blocks are parsed field by field', () => {
  const evt = parseEvent('id: 42\nevent: message\ndata: {"a":\ndata: 1}\n: comment')
  assert.deepEqual(evt, { event: 'message', data: '{"a":\n1}', id: '42' })
  assert.equal(parseEvent('retry: 3000').retry, 3000)
})

test('SSE events are read across chunk boundaries', async () => {
  const chunks = ['retry: 3000\n\nevent: ready\nda', 'ta: {"unread_count": 2}\n\n', 'id: m1\nevent: message\ndata: {}\n\n']
  const body = new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk))
      c.close()
    },
  })
  const seen = []
  for await (const evt of readEvents(body)) seen.push([evt.event, evt.data, evt.id])
  assert.deepEqual(seen, [['message', '', undefined], ['ready', '{"unread_count": 2}', undefined], ['message', '{}', 'm1']])
})

test('problem codes become Chinese sentences, with their details', () => {
  const wrong = new ApiError(403, { code: 'wrong_certificate_password', attempts_left: 2, detail: 'Wrong' })
  assert.equal(errorMessage(wrong), '证书密码错误，还可尝试 2 次')
  assert.equal(errorMessage(new ApiError(409, { code: 'seal_type_taken' })), MESSAGES.seal_type_taken)
  const field = new ApiError(422, {
    code: 'validation_failed',
    errors: [{ field: 'id_number', message: '身份证号码校验位错误 / wrong check digit', code: 'id_number_check_digit' }],
  })
  assert.equal(errorMessage(field), '证件号码：身份证号码校验位错误')
  assert.deepEqual(fieldErrors(field), { id_number: '身份证号码校验位错误' })
  assert.equal(errorMessage(new ApiError(400, { code: 'brand_new_code', detail: '新的问题 / new' })), '新的问题')
  assert.equal(errorMessage(new ApiError(400, { code: 'brand_new_code', detail: 'odd' })), '操作失败：odd')
  assert.equal(errorMessage(new ApiError(0, { detail: 'Failed to fetch' })), MESSAGES.network_error)
  assert.equal(errorMessage(new ApiError(429, { code: 'rate_limited', retry_after: 7 })), '操作过于频繁，请 7 秒后再试')
})

test('dates are ISO whatever the ICU data; midnight is 00, not 24', () => {
  assert.equal(formatDateTime('2026-11-29T16:00:00Z', { seconds: true }), '2026-11-30 00:00:00')
  assert.equal(formatDate('2026-12-31T16:00:01Z'), '2027-01-01')
  assert.match(today(), /^\d{4}-\d{2}-\d{2}$/)
})

test('a download is named by Content-Disposition: the RFC 5987 name first', () => {
  const both = "attachment; filename=\"usage-records_20260101-20260301.csv\"; filename*=UTF-8''%E5%8D%B0%E7%AB%A0%E4%BD%BF%E7%94%A8%E8%AE%B0%E5%BD%95_20260101-20260301.csv"
  assert.equal(filenameOf(both, 'x.csv'), '印章使用记录_20260101-20260301.csv')
  assert.equal(filenameOf('attachment; filename="a.xlsx"', 'x.xlsx'), 'a.xlsx')
  assert.equal(filenameOf("attachment; filename*=UTF-8''%E0%A4; filename=b.csv", 'x.csv'), 'b.csv')
  assert.equal(filenameOf(null, 'x.csv'), 'x.csv')
})

test('every request starts its own trace: a valid W3C traceparent, sampling left to the platform', async () => {
  const seen = []
  const saved = globalThis.fetch
  globalThis.fetch = async (url, init) => {
    seen.push(init.headers)
    return new Response(JSON.stringify({ ok: true }), { headers: { 'Content-Type': 'application/json' } })
  }
  try {
    await send('GET', 'seals')
    await send('POST', 'stamp-requests', { json: { a: 1 }, headers: { Authorization: 'Bearer t' } })
  } finally {
    globalThis.fetch = saved
  }
  const [first, second] = seen.map((h) => h.traceparent)
  for (const value of [first, second, newTraceparent()]) {
    assert.match(value, /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-00$/)
  }
  assert.notEqual(first.split('-')[1], second.split('-')[1]) // a new trace per request
  assert.equal(seen[1].Authorization, 'Bearer t')
  assert.equal(seen[1]['Content-Type'], 'application/json')
})
