// What 扫一扫 found (POST /scans) and what stamping produced, handed from screen to screen
// and kept in sessionStorage so a reload of the stamping screens keeps working.
const SCAN = 'eseal.scan'
const DONE = 'eseal.stamped'

export function saveScan(scan) {
  sessionStorage.setItem(SCAN, JSON.stringify(scan))
}

export function loadScan(requestId) {
  const scan = JSON.parse(sessionStorage.getItem(SCAN) || 'null')
  return scan && scan.request_id === requestId ? scan : null
}

export function saveStamped(requestId, record) {
  sessionStorage.setItem(DONE, JSON.stringify({ requestId, ...record }))
}

export function loadStamped(requestId) {
  const saved = JSON.parse(sessionStorage.getItem(DONE) || 'null')
  return saved && saved.requestId === requestId ? saved : null
}

export function clearScan() {
  sessionStorage.removeItem(SCAN)
}

// A batch's scan (POST /stamp-batches/scans) and its stamp answer, likewise
const BATCH = 'eseal.batch'
const BATCH_DONE = 'eseal.batchStamped'

export function saveBatch(scan) {
  sessionStorage.setItem(BATCH, JSON.stringify(scan))
}

export function loadBatch(batchId) {
  const scan = JSON.parse(sessionStorage.getItem(BATCH) || 'null')
  return scan && scan.batch_id === batchId ? scan : null
}

export function saveBatchResult(view) {
  sessionStorage.setItem(BATCH_DONE, JSON.stringify(view))
}

export function loadBatchResult(batchId) {
  const view = JSON.parse(sessionStorage.getItem(BATCH_DONE) || 'null')
  return view && view.batch_id === batchId ? view : null
}
