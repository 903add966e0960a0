// The record lists of the 我的 page: 印章使用记录 (GET /usage-records) and a person's
// 个人签名记录 (GET /signature-records). Both keep the last 3 months, newest first, paged with
// `next_cursor`; both screens (RecordList.vue, RecordCard.vue) share the period filter, the
// paging and the card's rows built here.
// Pure functions (no Vue, no DOM): web/tests/records.test.js.

import { addMonths, formatDateTime } from './format.js'

/** The window the API lists without `from`: the last 3 months. */
export const DEFAULT_MONTHS = 3
export const PAGE_SIZE = 20

export const PERIOD_OPTIONS = [
  { text: '近 3 个月', value: 3 },
  { text: '近 1 个月', value: 1 },
  { text: '近 7 天', value: 0.25 },
]

/** `from` (YYYY-MM-DD) of the chosen period, or '' for the whole window the API keeps. */
export function periodFrom(months, todayIso, now = Date.now()) {
  if (months === DEFAULT_MONTHS) return ''
  if (months >= 1) return addMonths(todayIso, -months)
  return new Date(now - 7 * 86400e3).toISOString().slice(0, 10)
}

/** The period's query (`from`, when not the default window). */
export function periodQuery(months, todayIso, now = Date.now()) {
  const q = new URLSearchParams()
  const from = periodFrom(months, todayIso, now)
  if (from) q.set('from', from)
  return q
}

/** One page's query: the period, the page size and the cursor of the page before. */
export function pageQuery(months, cursor, todayIso, now = Date.now()) {
  const q = periodQuery(months, todayIso, now)
  q.set('limit', String(PAGE_SIZE))
  if (cursor) q.set('cursor', cursor)
  return q
}

/**
 * Cursor paging for a Vant list: `state` is {items, loading, finished, failed} (reactive in
 * a component), `load(cursor)` answers a page {items, next_cursor}. `more()` appends the next
 * page; `reset()` starts again (a new filter). A page that answers after a reset is dropped.
 */
export function cursorPager(load, state) {
  let cursor = null
  let generation = 0
  async function more() {
    const mine = generation
    try {
      const page = await load(cursor)
      if (mine !== generation) return
      state.items.push(...page.items)
      cursor = page.next_cursor || null
      state.finished = !cursor
    } catch {
      if (mine === generation) state.failed = true
    } finally {
      if (mine === generation) state.loading = false
    }
  }
  function reset() {
    generation += 1
    cursor = null
    state.items = []
    state.finished = false
    state.failed = false
    state.loading = true
    return more()
  }
  return { more, reset }
}

/** The relying system's name: a string, or {name} in older answers. */
export const requesterName = (r) => (typeof r.requester === 'string' ? r.requester : r.requester?.name) || ''

/** The rows of a usage record's card (印章使用记录); the seal's name is its head. */
export function usageRows(r) {
  return [
    { label: '使用时间', value: formatDateTime(r.used_at, { seconds: true }) },
    { label: '使用人员', value: r.user_name },
    { label: '所属企业', value: r.enterprise_name },
    { label: '文件名称', value: r.document_title },
    { label: '业务系统', value: requesterName(r) },
  ].filter((row) => row.value)
}

/**
 * Which of the request's placements (0-based indexes) the signature filled, as the stamping
 * screens number them: "第 2 处"; several: "2 处（第 1、3 处）".
 */
export function placementsText(indexes) {
  const list = (indexes || []).map((i) => i + 1)
  if (!list.length) return ''
  const which = `第 ${list.join('、')} 处`
  return list.length === 1 ? which : `${list.length} 处（${which}）`
}

/** What signed: PAdES on a PDF, GB/T 38540 (国密) on an OFD. */
const SIGNATURE_FORMATS = {
  pades: 'PDF 签名（ECDSA P-256）',
  gbt38540: 'OFD 国密签章（SM2，GB/T 38540）',
}

/** The rows of a signature record's card (个人签名记录); the document's title is its head. */
export function signatureRows(r) {
  return [
    { label: '签名时间', value: formatDateTime(r.signed_at, { seconds: true }) },
    { label: '签名人', value: r.user_name },
    { label: '业务系统', value: requesterName(r) },
    { label: '签名位置', value: placementsText(r.placements), test: 'signature-record-placements' },
    { label: '签名算法', value: SIGNATURE_FORMATS[r.format] || '', test: 'signature-record-format' },
    { label: '签名证书', value: r.certificate_serial, mono: true },
    { label: '记录编号', value: r.record_id, mono: true, test: 'signature-record-id' },
  ].filter((row) => row.value)
}
